//! Personal data masked before anything is written, and the random keys that name things to browsers.

/// 128 random bits as hex: unguessable, so ticket pages cannot be enumerated by number.
pub fn random_key() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Masks personal data in free text: mainland mobile numbers (11 digits starting with 1), ID-card
/// numbers (17 digits + digit or X) and unified social credit codes (18 characters). The first
/// and last few characters stay, so operators can still tell numbers apart.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_alphanumeric() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            out.push_str(&mask_run(&run));
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

fn mask_run(run: &str) -> String {
    let b = run.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    let keep = |head: usize, tail: usize| {
        format!(
            "{}{}{}",
            &run[..head],
            "*".repeat(run.len() - head - tail),
            &run[run.len() - tail..]
        )
    };
    let is_mobile = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && digits(b);
    let num = |s: &str| s.parse::<u32>().unwrap_or(0);
    // ID cards carry a birth date (YYYYMMDD) at 7–14; customs declaration numbers (18 digits) do not.
    let is_id = b.len() == 18
        && digits(&b[..17])
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x')
        && (1900..=2099).contains(&num(&run[6..10]))
        && (1..=12).contains(&num(&run[10..12]))
        && (1..=31).contains(&num(&run[12..14]));
    // USCC alphabet: digits and uppercase letters except I, O, Z, S, V.
    let uscc_char = |c: &u8| c.is_ascii_digit() || (c.is_ascii_uppercase() && !b"IOZSV".contains(c));
    let is_uscc = b.len() == 18 && b.iter().all(uscc_char) && b.iter().any(u8::is_ascii_uppercase) && digits(&b[2..8]);
    if is_mobile {
        keep(3, 4)
    } else if is_id || is_uscc {
        keep(4, 4)
    } else {
        run.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_table() {
        let cases = [
            ("我的电话13812345678请回电", "我的电话138****5678请回电"),
            ("身份证 11010519491231002X", "身份证 1101**********002X"),
            ("信用代码91630100MA752XXX1B号", "信用代码9163**********XX1B号"),
            ("HS编码 84713000 不变", "HS编码 84713000 不变"),
            (
                "报关单号 630120261000012345 不是身份证",
                "报关单号 630120261000012345 不是身份证",
            ),
            ("座机0971-1234567", "座机0971-1234567"),
        ];
        for (input, expected) in cases {
            assert_eq!(mask(input), expected, "mask({input:?})");
        }
    }
}
