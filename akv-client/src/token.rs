//! Access tokens and the token cache (DESIGN §6.8).
//!
//! One cache per [`crate::Client`], keyed by (audience, tenant). A token is refreshed ahead of
//! its expiry, when less than min(300 s, lifetime / 2) remains (or at the `refresh_in` the
//! source gave). Under concurrency exactly one thread refreshes: while the old token is still
//! valid the others keep using it, and when there is no valid token they wait for the
//! refreshing thread. No lock is held during the network request.
//!
//! Fork safety: the cache state is per process ([`crate::fork::PerProcess`]). A child
//! builds its own the first time it asks for a token, copying the parent's tokens only if
//! it can take the parent's lock without waiting (a parent thread may have held it at the
//! moment of `fork()`). So a child never waits on a refresh in flight in the parent.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::{Condvar, Mutex};

use crate::config::Secret;
use crate::error::Error;
use crate::fork::PerProcess;

/// Refresh at most this long before expiry.
const MAX_REFRESH_AHEAD: Duration = Duration::from_secs(300);
/// A lifetime or refresh delay a source states is believed up to this much (Entra and
/// managed identity tokens live at most 24 h); more would overflow `Instant` arithmetic.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// A bearer token with its lifetime. `Debug` does not print the token.
#[derive(Clone)]
pub struct AccessToken {
    pub token: Secret,
    pub expires_at: Instant,
    /// When to get a new one, before `expires_at`.
    pub refresh_at: Instant,
}

impl AccessToken {
    /// A token valid for `lifetime` from now, refreshed when min(300 s, lifetime / 2) remains.
    pub fn with_lifetime(token: String, lifetime: Duration) -> AccessToken {
        let lifetime = lifetime.min(MAX_LIFETIME);
        let now = Instant::now();
        let ahead = MAX_REFRESH_AHEAD.min(lifetime / 2);
        AccessToken {
            token: Secret::new(token),
            expires_at: now + lifetime,
            refresh_at: now + (lifetime - ahead),
        }
    }

    /// A token that expires at `expires_on` (Unix seconds).
    pub fn expiring_on(token: String, expires_on: u64) -> AccessToken {
        let now = unix_now();
        AccessToken::with_lifetime(token, Duration::from_secs(expires_on.saturating_sub(now)))
    }

    /// Uses the source's `refresh_in` (seconds) when it asks for an earlier refresh.
    pub fn with_refresh_in(mut self, refresh_in: Option<u64>) -> AccessToken {
        if let Some(secs) = refresh_in {
            let at = Instant::now() + Duration::from_secs(secs).min(MAX_LIFETIME);
            if at < self.refresh_at {
                self.refresh_at = at;
            }
        }
        self
    }

    pub fn is_valid(&self, now: Instant) -> bool {
        now < self.expires_at
    }

    pub fn is_due(&self, now: Instant) -> bool {
        now >= self.refresh_at
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &self.token)
            .field(
                "expires_in",
                &self.expires_at.saturating_duration_since(Instant::now()),
            )
            .finish()
    }
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// (audience, tenant)
type CacheKey = (String, Option<String>);

#[derive(Default)]
struct Entry {
    token: Option<AccessToken>,
    /// A thread of this process is fetching a new token.
    refreshing: bool,
}

struct State {
    entries: Mutex<HashMap<CacheKey, Entry>>,
    refreshed: Condvar,
    /// Tenant a service host named in its 401 challenge, by host.
    challenge_tenants: Mutex<HashMap<String, String>>,
}

/// The token cache of one client.
pub struct TokenCache {
    state: PerProcess<State>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new()
    }
}

impl TokenCache {
    pub fn new() -> TokenCache {
        TokenCache {
            state: PerProcess::new(),
        }
    }

    fn state(&self) -> &State {
        let built = self.state.get_or_try_init(|inherited| {
            // Never wait on the parent's lock: copy its tokens only if it is free.
            let entries = inherited
                .and_then(|parent| parent.entries.try_lock())
                .map(|entries| {
                    entries
                        .iter()
                        .filter_map(|(k, e)| {
                            let token = e.token.clone()?;
                            Some((
                                k.clone(),
                                Entry {
                                    token: Some(token),
                                    refreshing: false,
                                },
                            ))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let challenge_tenants = inherited
                .and_then(|parent| parent.challenge_tenants.try_lock())
                .map(|tenants| tenants.clone())
                .unwrap_or_default();
            Ok::<_, std::convert::Infallible>(State {
                entries: Mutex::new(entries),
                refreshed: Condvar::new(),
                challenge_tenants: Mutex::new(challenge_tenants),
            })
        });
        match built {
            Ok(state) => state,
            Err(never) => match never {},
        }
    }

    /// A valid token for (audience, tenant): the cached one, or one from `fetch`, called by
    /// one thread at a time per key and never under a lock. `wait_limit` bounds how long a
    /// thread waits for another's refresh before fetching itself.
    pub fn get(
        &self,
        audience: &str,
        tenant: Option<&str>,
        wait_limit: Duration,
        fetch: impl FnOnce() -> Result<AccessToken, Error>,
    ) -> Result<Secret, Error> {
        let state = self.state();
        let key: CacheKey = (audience.to_string(), tenant.map(str::to_string));
        let deadline = Instant::now() + wait_limit;
        let stale = {
            let mut entries = state.entries.lock();
            loop {
                let now = Instant::now();
                let entry = entries.entry(key.clone()).or_default();
                match &entry.token {
                    Some(t) if !t.is_due(now) => return Ok(t.token.clone()),
                    // Due but valid, and someone is already refreshing: use it meanwhile.
                    Some(t) if t.is_valid(now) && entry.refreshing => {
                        return Ok(t.token.clone());
                    }
                    _ => {}
                }
                if !entry.refreshing || now >= deadline {
                    entry.refreshing = true;
                    break entry.token.clone().filter(|t| t.is_valid(now));
                }
                // No valid token and a refresh is in flight in this process: wait for it.
                state.refreshed.wait_until(&mut entries, deadline);
            }
        };

        // From here this thread is the refresher; the ticket hands the role back even if
        // `fetch` panics (a panic boundary above may catch it and the process go on).
        let ticket = RefreshTicket { state, key: &key };
        tracing::debug!(audience, "requesting a new access token");
        let fetched = fetch();

        let result = match fetched {
            Ok(token) => {
                let secret = token.token.clone();
                state.entries.lock().entry(key.clone()).or_default().token = Some(token);
                Ok(secret)
            }
            // The refresh failed early, while the old token still works: keep using it.
            Err(err) => match stale {
                Some(old) if old.is_valid(Instant::now()) => {
                    tracing::warn!(audience, error = %err, "token refresh failed; using the current token until it expires");
                    Ok(old.token)
                }
                _ => Err(err),
            },
        };
        drop(ticket);
        result
    }

    /// The tenant `host` named in a 401 challenge, if it did.
    pub fn challenge_tenant(&self, host: &str) -> Option<String> {
        self.state().challenge_tenants.lock().get(host).cloned()
    }

    /// Remembers the tenant `host` named in a 401 challenge.
    pub fn set_challenge_tenant(&self, host: &str, tenant: &str) {
        self.state()
            .challenge_tenants
            .lock()
            .insert(host.to_string(), tenant.to_string());
    }

    /// Forgets `token` for (audience, tenant) after the service refused it (401), so the next
    /// `get` fetches a new one. A token already replaced by another thread is left alone.
    pub fn invalidate(&self, audience: &str, tenant: Option<&str>, token: &Secret) {
        let state = self.state();
        let key: CacheKey = (audience.to_string(), tenant.map(str::to_string));
        let mut entries = state.entries.lock();
        if let Some(entry) = entries.get_mut(&key) {
            if entry.token.as_ref().is_some_and(|t| &t.token == token) {
                entry.token = None;
            }
        }
    }
}

/// The refresher's role for one cache entry: given back (and waiters woken) when dropped.
struct RefreshTicket<'a> {
    state: &'a State,
    key: &'a CacheKey,
}

impl Drop for RefreshTicket<'_> {
    fn drop(&mut self) {
        if let Some(entry) = self.state.entries.lock().get_mut(self.key) {
            entry.refreshing = false;
        }
        self.state.refreshed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn token(s: &str, lifetime: Duration) -> AccessToken {
        AccessToken::with_lifetime(s.into(), lifetime)
    }

    #[test]
    fn refresh_ahead_is_min_of_300s_and_half_the_lifetime() {
        let t = token("a", Duration::from_secs(3600));
        let ahead = t.expires_at - t.refresh_at;
        assert_eq!(ahead, Duration::from_secs(300));
        let t = token("a", Duration::from_secs(2));
        assert_eq!(t.expires_at - t.refresh_at, Duration::from_secs(1));
        let t = token("a", Duration::from_secs(3600)).with_refresh_in(Some(60));
        assert!(t.refresh_at < Instant::now() + Duration::from_secs(61));
        assert!(!format!("{t:?}").contains("\"a\""));
    }

    #[test]
    fn absurd_lifetimes_from_a_token_source_do_not_panic() {
        // `expires_in`, `expires_on`, a JWT's `exp` and `refresh_in` come from outside:
        // `Instant + Duration` panics on overflow.
        let now = Instant::now();
        let t = AccessToken::with_lifetime("a".into(), Duration::from_secs(u64::MAX));
        assert!(t.is_valid(now) && !t.is_due(now));
        let t = AccessToken::expiring_on("a".into(), u64::MAX);
        assert!(t.is_valid(now) && !t.is_due(now));
        let t = token("a", Duration::from_secs(3600)).with_refresh_in(Some(u64::MAX));
        assert_eq!(t.expires_at - t.refresh_at, Duration::from_secs(300));
    }

    #[test]
    fn a_refresh_that_panics_does_not_leave_other_callers_waiting() {
        let cache = TokenCache::new();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            cache.get("aud", None, Duration::from_secs(30), || {
                panic!("a bug in a token source")
            })
        }));
        assert!(panicked.is_err());
        let started = Instant::now();
        let t = cache
            .get("aud", None, Duration::from_secs(30), || {
                Ok(token("t", Duration::from_secs(3600)))
            })
            .unwrap();
        assert_eq!(t.expose(), "t");
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn cached_token_is_reused_until_due() {
        let cache = TokenCache::new();
        let calls = AtomicUsize::new(0);
        for _ in 0..5 {
            let t = cache
                .get("aud", None, Duration::from_secs(1), || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Ok(token("t1", Duration::from_secs(3600)))
                })
                .unwrap();
            assert_eq!(t.expose(), "t1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // another tenant is another entry
        cache
            .get("aud", Some("tenant2"), Duration::from_secs(1), || {
                calls.fetch_add(1, Ordering::SeqCst);
                Ok(token("t2", Duration::from_secs(3600)))
            })
            .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn invalidate_forces_a_new_fetch_but_only_for_the_refused_token() {
        let cache = TokenCache::new();
        let get = |name: &'static str| {
            cache
                .get("aud", None, Duration::from_secs(1), || {
                    Ok(token(name, Duration::from_secs(3600)))
                })
                .unwrap()
        };
        let t1 = get("t1");
        cache.invalidate("aud", None, &Secret::new("other"));
        assert_eq!(get("unused").expose(), "t1");
        cache.invalidate("aud", None, &t1);
        assert_eq!(get("t2").expose(), "t2");
    }

    #[test]
    fn failed_refresh_keeps_a_still_valid_token() {
        let cache = TokenCache::new();
        // lifetime 2 s: due after 1 s; make it due at once with refresh_in 0
        let first = token("old", Duration::from_secs(60)).with_refresh_in(Some(0));
        cache
            .get("aud", None, Duration::from_secs(1), || Ok(first))
            .unwrap();
        let t = cache
            .get("aud", None, Duration::from_secs(1), || {
                Err(Error::Credential {
                    audience: "aud".into(),
                    attempts: vec![],
                })
            })
            .unwrap();
        assert_eq!(t.expose(), "old");
    }

    #[test]
    fn concurrent_threads_fetch_once() {
        let cache = Arc::new(TokenCache::new());
        let calls = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (cache, calls, barrier) = (cache.clone(), calls.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    cache
                        .get("aud", None, Duration::from_secs(10), || {
                            calls.fetch_add(1, Ordering::SeqCst);
                            // hold the refresh long enough for every thread to arrive
                            std::thread::sleep(Duration::from_millis(200));
                            Ok(token("shared", Duration::from_secs(3600)))
                        })
                        .unwrap()
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().expose(), "shared");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}
