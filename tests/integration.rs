//! The one integration-test binary: declares the test modules so everything links once.

mod fake_telegram;
mod support;

mod cli;
mod operators;
mod quality;
mod review;
mod robustness;
mod telegram;
mod validation;
mod web;
