//! The one integration-test binary: declares the test modules so everything links once.

mod fake_telegram;
mod support;

mod cli;
mod desk;
mod hardening;
mod insight;
mod operators;
mod quality;
mod review;
mod robustness;
mod store_faults;
mod telegram;
mod validation;
mod web;
mod web_house;
mod web_server;
