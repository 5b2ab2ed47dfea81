//! The one integration-test binary: declares the test modules so everything links once.

mod fake_telegram;
mod support;

mod cli;
mod quality;
mod telegram;
mod validation;
