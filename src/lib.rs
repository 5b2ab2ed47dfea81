//! customs-bot: a customs consultation assistant.
//!
//! Module map (see ARCHITECTURE.md): `text` (normalisation, segmentation) ← `knowledge` (entries,
//! lexicon, validation) ← `index` (tantivy, the only user of it) ← `app` (the one answering path),
//! which also uses `answer` (the pure decision) and `reply` (what is said, rendered). `desk` keeps
//! what happens after a question, `tickets` the log; `insight` reads the log for operators (gaps,
//! helpfulness, trends). `cli` is the door. `config` and `markup` depend on nothing inside the crate.

pub mod answer;
pub mod app;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod desk;
pub mod duty;
pub mod gate;
pub mod index;
pub mod insight;
pub mod knowledge;
pub mod markup;
pub mod ratelimit;
pub mod reply;
pub mod telegram;
pub mod text;
pub mod tickets;
pub mod web;
