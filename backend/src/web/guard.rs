//! Guard rails of the lab's API: size limits and a request-rate limit per client, so one
//! runaway script cannot take the lab from a class. Who may do what is [`super::access`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits, set by flags.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest record the API produces (key + value + headers).
    pub max_record_bytes: usize,
    pub max_subscriptions: usize,
    /// HTTP requests per second per signed-in student (per address for guests), and
    /// websocket messages per second per socket.
    pub requests_per_second: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_record_bytes: 1 << 20, max_subscriptions: 8, requests_per_second: 50.0 }
    }
}

/// A token bucket: `rate` per second on average, bursts of up to twice that.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub fn new(rate: f64) -> Self {
        Bucket { tokens: 2.0 * rate, at: Instant::now() }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, rate: f64) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.at).as_secs_f64() * rate).min(2.0 * rate);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a token is there again.
    fn wait(&self, rate: f64) -> Duration {
        Duration::from_secs_f64(((1.0 - self.tokens) / rate).max(0.0))
    }
}

/// Whose requests one bucket counts. A class behind a school's NAT or proxy comes from one
/// address, so a signed-in student has a bucket of her own (her token names her); guests,
/// and anyone sending a token that is not valid, share their address's.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Client {
    Student(String),
    Teacher,
    Address(IpAddr),
}

/// One bucket per [`Client`].
pub struct RateLimiter {
    rate: f64,
    buckets: Mutex<HashMap<Client, Bucket>>,
}

impl RateLimiter {
    pub fn new(rate: f64) -> Self {
        RateLimiter { rate, buckets: Mutex::new(HashMap::new()) }
    }

    /// `Err(how long to wait)` when `client` is over the rate.
    pub fn allow(&self, client: &Client) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().expect("limiter lock");
        if buckets.len() > 10_000 {
            // Forget idle clients rather than grow without bound.
            let rate = self.rate;
            buckets.retain(|_, b| b.at.elapsed().as_secs_f64() * rate < 2.0 * rate);
        }
        let bucket = buckets.entry(client.clone()).or_insert_with(|| Bucket::new(self.rate));
        if bucket.take(self.rate) { Ok(()) } else { Err(bucket.wait(self.rate)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_beyond_twice_the_rate_is_refused() {
        let limiter = RateLimiter::new(10.0);
        let ip = Client::Address("10.0.0.1".parse().unwrap());
        let allowed = (0..50).filter(|_| limiter.allow(&ip).is_ok()).count();
        assert!((20..=21).contains(&allowed), "{allowed}");
        let wait = limiter.allow(&ip).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(100), "a token comes every 0.1 s: {wait:?}");
        assert!(limiter.allow(&Client::Address("10.0.0.2".parse().unwrap())).is_ok(), "other clients are not affected");
        assert!(limiter.allow(&Client::Student("alice".into())).is_ok(), "a student from that address neither");
    }
}
