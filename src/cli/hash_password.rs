//! `customs-bot hash-password`: reads a password from standard input and prints its argon2 hash
//! for `[[web.operators]] password_hash` in bot.toml.

use std::io::Read;

use argon2::password_hash::{PasswordHasher, SaltString};
use rand::RngCore;

use super::Code;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<Code> {
    let mut password = String::new();
    std::io::stdin().read_to_string(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']);
    anyhow::ensure!(
        !password.is_empty(),
        "type the password on standard input, e.g. `customs-bot hash-password < pw.txt`"
    );
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let salt = SaltString::encode_b64(&bytes).map_err(|e| anyhow::anyhow!("making a salt failed: {e}"))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))?;
    super::Stdout::new().line(hash)?;
    Ok(Code::Ok)
}
