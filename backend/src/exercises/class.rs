//! Class tokens: what a student types once so the lab knows who they are.
//!
//! A token is the student's name, an optional last day, and a MAC of both under the class
//! secret: `alice.Q2xhc3MgdG9rZW4gZm9yIGFs` or `alice.2027-03-31.Q2xhc3MgdG9rZW4gZm9y`. So
//! the lab keeps no token list: the same secret and roster give the same tokens on every
//! run (`streamlab class tokens` prints them), and changing the secret withdraws them all.
//! The name in front lets a teacher see whose token a student pasted.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use thiserror::Error;

/// Characters of the MAC kept in a token: 22 base64 characters are 132 bits.
const MAC_CHARS: usize = 22;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error(
        "that is not a class token: a token looks like `alice.Q2xhc3MgdG9rZW4gZm9yIGFs` (ask your teacher for yours)"
    )]
    Malformed,
    #[error("{0} is not on this class's roster")]
    NotOnRoster(String),
    #[error("that token is not valid for this lab (a typo, or a token of another class)")]
    Invalid,
    #[error("that token expired after {0}; ask your teacher for a new one")]
    Expired(String),
    #[error("the last day must be a date like 2027-03-31, got `{0}`")]
    BadDate(String),
}

/// A class: its secret and its roster.
#[derive(Clone)]
pub struct Class {
    key: hmac::Key,
    roster: Vec<String>,
}

impl std::fmt::Debug for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Class").field("roster", &self.roster).finish_non_exhaustive()
    }
}

impl Class {
    pub fn new(secret: &str, roster: Vec<String>) -> Self {
        Class { key: hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes()), roster }
    }

    pub fn roster(&self) -> &[String] {
        &self.roster
    }

    /// The token of `student`, valid through `last_day` (YYYY-MM-DD) if given.
    pub fn token(&self, student: &str, last_day: Option<&str>) -> Result<String, TokenError> {
        if let Some(day) = last_day {
            days_from_date(day).ok_or_else(|| TokenError::BadDate(day.to_owned()))?;
        }
        let mac = self.mac(student, last_day);
        Ok(match last_day {
            Some(day) => format!("{student}.{day}.{mac}"),
            None => format!("{student}.{mac}"),
        })
    }

    /// The student a token belongs to, if it is one of this class's and has not expired.
    pub fn verify(&self, token: &str) -> Result<String, TokenError> {
        self.verify_on(token, today())
    }

    fn verify_on(&self, token: &str, today: i64) -> Result<String, TokenError> {
        let parts: Vec<&str> = token.trim().split('.').collect();
        let (student, last_day, mac) = match parts[..] {
            [s, m] => (s, None, m),
            [s, d, m] => (s, Some(d), m),
            _ => return Err(TokenError::Malformed),
        };
        if student.is_empty() || mac.len() != MAC_CHARS {
            return Err(TokenError::Malformed);
        }
        if !self.roster.iter().any(|r| r == student) {
            return Err(TokenError::NotOnRoster(student.to_owned()));
        }
        let expected = self.mac(student, last_day);
        // Compared in constant time so a token cannot be guessed character by character.
        let differs = expected.bytes().zip(mac.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        if differs != 0 {
            return Err(TokenError::Invalid);
        }
        if let Some(day) = last_day {
            let last = days_from_date(day).ok_or(TokenError::Malformed)?;
            if today > last {
                return Err(TokenError::Expired(day.to_owned()));
            }
        }
        Ok(student.to_owned())
    }

    fn mac(&self, student: &str, last_day: Option<&str>) -> String {
        // The purpose in the message keeps these MACs from meaning anything elsewhere.
        let message = format!("streamlab class token v1\n{student}\n{}", last_day.unwrap_or(""));
        let tag = hmac::sign(&self.key, message.as_bytes());
        URL_SAFE_NO_PAD.encode(tag.as_ref())[..MAC_CHARS].to_owned()
    }
}

/// Today as days since 1970-01-01 (UTC).
fn today() -> i64 {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    (secs / 86_400) as i64
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (Howard Hinnant's days_from_civil).
fn days_from_date(date: &str) -> Option<i64> {
    let mut it = date.split('-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d < 1 || d > month_days[(m - 1) as usize] {
        return None;
    }
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class() -> Class {
        Class::new("a long class secret", vec!["alice".into(), "bob".into()])
    }

    #[test]
    fn a_token_names_its_student_and_is_the_same_on_every_run() {
        let token = class().token("alice", None).unwrap();
        assert!(token.starts_with("alice."), "{token}");
        assert_eq!(token, class().token("alice", None).unwrap());
        assert_eq!(class().verify(&token), Ok("alice".into()));
        assert_ne!(token, class().token("bob", None).unwrap());
        let other = Class::new("another secret", vec!["alice".into()]);
        assert_ne!(token, other.token("alice", None).unwrap());
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn tampered_renamed_malformed_and_expired_tokens_are_refused() {
        let c = class();
        let alice = c.token("alice", None).unwrap();
        let mac = alice.split_once('.').unwrap().1;
        // Bob's name on Alice's MAC.
        assert_eq!(c.verify(&format!("bob.{mac}")), Err(TokenError::Invalid));
        assert_eq!(c.verify(&format!("carol.{mac}")), Err(TokenError::NotOnRoster("carol".into())));
        let mut flipped = alice.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(c.verify(std::str::from_utf8(&flipped).unwrap()), Err(TokenError::Invalid));
        for bad in ["", "alice", "alice.", ".x", "alice.short", "a.b.c.d", "../alice.QQ"] {
            assert!(c.verify(bad).is_err(), "{bad}");
        }
        let dated = c.token("alice", Some("2026-12-31")).unwrap();
        let day = days_from_date("2026-12-31").unwrap();
        assert_eq!(c.verify_on(&dated, day), Ok("alice".into()));
        assert_eq!(c.verify_on(&dated, day + 1), Err(TokenError::Expired("2026-12-31".into())));
        // Moving the last day invalidates the MAC.
        let moved = dated.replace("2026-12-31", "2027-12-31");
        assert_eq!(c.verify_on(&moved, day), Err(TokenError::Invalid));
        assert_eq!(c.token("alice", Some("2026-02-30")), Err(TokenError::BadDate("2026-02-30".into())));
    }

    #[test]
    fn dates_count_days_since_1970() {
        assert_eq!(days_from_date("1970-01-01"), Some(0));
        assert_eq!(days_from_date("2000-03-01"), Some(11_017));
        assert_eq!(days_from_date("2024-02-29"), Some(19_782));
        assert_eq!(days_from_date("2023-02-29"), None);
        assert_eq!(days_from_date("2024-1-01"), None);
    }
}
