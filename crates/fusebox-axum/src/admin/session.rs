//! What the admin token turns into inside the router: the digest bearer tokens are compared
//! with, and the sessions the dashboard's cookie carries.
//!
//! A session is `<expiry>.<tag>`: the expiry in Unix seconds and an HMAC-SHA256 of it keyed
//! by the token. Any process that holds the token can check it without storing sessions
//! (replicas behind a load balancer, a restarted server), a new token ends every session,
//! and the cookie never holds the token itself. What this does not do: end one session
//! early (change the token to end them all).

use std::time::Duration;

use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bound into every tag, so a tag for anything else keyed by the same token (a future
/// format included) is never a valid session.
const CONTEXT: &[u8] = b"fusebox admin session v1\n";

/// The longest expiry text a `u64` has: more digits is not a session.
const MAX_EXPIRY_DIGITS: usize = 20;

/// The admin token in the two forms the router uses, never the token itself.
#[derive(Clone)]
pub(super) struct Secret {
    /// SHA-256 of the token: candidates are compared digest to digest, in constant time
    /// and in the same time whatever their length.
    digest: [u8; 32],
    /// HMAC-SHA256 keyed by the digest, cloned for every tag.
    mac: Hmac<Sha256>,
}

impl Secret {
    pub(super) fn new(token: &str) -> Secret {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        // HMAC zero-pads a key shorter than its 64-byte block, so this is HMAC keyed by the
        // 32-byte digest, built without the fallible `new_from_slice`.
        let mut key = Key::<Hmac<Sha256>>::default();
        key[..digest.len()].copy_from_slice(&digest);
        Secret {
            digest,
            mac: <Hmac<Sha256> as KeyInit>::new(&key),
        }
    }

    /// Whether `candidate` is the token.
    pub(super) fn is_token(&self, candidate: &str) -> bool {
        let candidate: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        candidate.ct_eq(&self.digest).into()
    }

    /// A session valid until `expires` (Unix seconds).
    pub(super) fn issue(&self, expires: u64) -> String {
        let expires = expires.to_string();
        let tag = self.tag(&expires);
        format!("{expires}.{tag}")
    }

    /// Whether `value` is a session this secret issued that is still valid at `now` (Unix
    /// seconds). An expiry further than `lifetime` ahead is refused too: it was issued
    /// under a longer lifetime than the router has now.
    pub(super) fn admits(&self, value: &str, now: u64, lifetime: Duration) -> bool {
        let Some((expires, tag)) = value.split_once('.') else {
            return false;
        };
        if expires.is_empty()
            || expires.len() > MAX_EXPIRY_DIGITS
            || !expires.bytes().all(|byte| byte.is_ascii_digit())
        {
            return false;
        }
        let authentic: bool = self.tag(expires).as_bytes().ct_eq(tag.as_bytes()).into();
        let Ok(expires) = expires.parse::<u64>() else {
            return false;
        };
        authentic && now < expires && expires <= now.saturating_add(lifetime.as_secs())
    }

    /// The tag of an expiry, in lowercase hex.
    fn tag(&self, expires: &str) -> String {
        let mut mac = self.mac.clone();
        mac.update(CONTEXT);
        mac.update(expires.as_bytes());
        format!("{:x}", mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn a_session_is_its_expiry_and_a_tag_that_is_not_the_token() {
        let secret = Secret::new("a-token-of-sixteen+");
        let session = secret.issue(1_700_003_600);
        let (expires, tag) = session.split_once('.').unwrap();
        assert_eq!(expires, "1700003600");
        assert_eq!(tag.len(), 64);
        assert!(tag.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert!(!session.contains("a-token-of-sixteen+"));
        // The same expiry gives the same session: nothing is stored between requests.
        assert_eq!(secret.issue(1_700_003_600), session);
    }

    #[test]
    fn a_session_is_admitted_until_it_expires() {
        let secret = Secret::new("a-token-of-sixteen+");
        let session = secret.issue(1_700_003_600);
        assert!(secret.admits(&session, 1_700_000_000, HOUR));
        assert!(secret.admits(&session, 1_700_003_599, HOUR));
        assert!(!secret.admits(&session, 1_700_003_600, HOUR));
        assert!(!secret.admits(&session, 1_800_000_000, HOUR));
    }

    #[test]
    fn a_session_from_a_longer_lifetime_is_refused() {
        let secret = Secret::new("a-token-of-sixteen+");
        let session = secret.issue(1_700_000_000 + 2 * 3600);
        assert!(secret.admits(&session, 1_700_000_000, 2 * HOUR));
        assert!(!secret.admits(&session, 1_700_000_000, HOUR));
    }

    #[test]
    fn forged_or_foreign_sessions_are_refused() {
        let secret = Secret::new("a-token-of-sixteen+");
        let session = secret.issue(1_700_003_600);
        let (_, tag) = session.split_once('.').unwrap();
        let now = 1_700_000_000;
        let other = Secret::new("another-token-of-16");
        let forged = [
            // A later expiry under the old tag.
            format!("1700007200.{tag}"),
            // The same number spelled differently.
            format!("01700003600.{tag}"),
            format!("+1700003600.{tag}"),
            format!("1700003600.{}", tag.to_uppercase()),
            format!("1700003600.{}", &tag[..63]),
            format!("1700003600.{tag}0"),
            "1700003600".to_owned(),
            "1700003600.".to_owned(),
            format!(".{tag}"),
            format!("99999999999999999999999.{tag}"),
            // The raw token, as the cookie used to hold it.
            "a-token-of-sixteen+".to_owned(),
            // A session of another token.
            other.issue(1_700_003_600),
        ];
        for value in forged {
            assert!(!secret.admits(&value, now, HOUR), "{value}");
        }
        assert!(secret.admits(&session, now, HOUR));
    }

    #[test]
    fn only_the_token_itself_is_the_token() {
        let secret = Secret::new("a-token-of-sixteen+");
        assert!(secret.is_token("a-token-of-sixteen+"));
        for candidate in [
            "",
            "a-token-of-sixteen",
            "a-token-of-sixteen++",
            "A-token-of-sixteen+",
        ] {
            assert!(!secret.is_token(candidate), "{candidate}");
        }
    }
}
