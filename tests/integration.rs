//! The one integration-test binary: declares the test modules so everything links once.

mod support;

mod cli;
mod quality;
mod validation;
