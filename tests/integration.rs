//! The one integration-test binary: declares the test modules so everything links once.

mod fake_telegram;
mod support;

mod cli;
mod desk;
mod desk_shared;
mod governance;
mod governance_console;
mod hardening;
mod insight;
mod kiosk;
mod kiosk_browser;
mod operators;
mod quality;
mod review;
mod robustness;
mod scale_out;
mod store_conformance;
mod store_faults;
mod telegram;
mod telegram_webhook;
mod validation;
mod web;
mod web_chat;
mod web_house;
mod web_ops_endpoints;
mod web_server;
mod web_shared;
