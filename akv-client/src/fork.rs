//! State that each process builds for itself (DESIGN §6.7–6.8): the HTTP agents and the
//! token cache. One audited place for the `fork()` rules:
//!
//! - The value is tagged with the pid that built it, read through an atomic pointer: finding
//!   out whether it belongs to this process takes no lock (a parent thread may have held any
//!   lock at the moment of `fork()`, and that thread does not exist in the child).
//! - A forked child builds its own value on first use and never drops, frees or shuts down
//!   the inherited one: it may be locked forever, and it holds the parent's connections
//!   (ureq's `Agent::shutdown()` would cut a request the parent has in flight). It is leaked,
//!   on purpose.
//! - The child may look at the inherited value while building its own (the token cache
//!   copies tokens with a `try_lock`), never wait on it.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicPtr, Ordering};

struct Owned<T> {
    pid: u32,
    value: T,
}

/// A value of type `T` per process, built on first use.
pub(crate) struct PerProcess<T> {
    current: AtomicPtr<Owned<T>>,
    /// Owns `T`s, which any thread may create and the owner's thread drop.
    _owns: PhantomData<Box<T>>,
}

impl<T> PerProcess<T> {
    pub(crate) const fn new() -> PerProcess<T> {
        PerProcess {
            current: AtomicPtr::new(std::ptr::null_mut()),
            _owns: PhantomData,
        }
    }

    /// This process's value, built by `init` the first time this process asks. `init` is
    /// given the value inherited from the parent process, if any, to read without waiting.
    /// Threads racing on the first use may each run `init`; one value wins, the others are
    /// dropped unused.
    pub(crate) fn get_or_try_init<E>(
        &self,
        init: impl FnOnce(Option<&T>) -> Result<T, E>,
    ) -> Result<&T, E> {
        let pid = std::process::id();
        let current = self.current.load(Ordering::Acquire);
        // SAFETY: a non-null pointer came from `Box::into_raw` below and is freed only by
        // `Drop`, which takes `&mut self`: it is valid for as long as `&self` is.
        let current_ref = unsafe { current.as_ref() };
        if let Some(owned) = current_ref.filter(|o| o.pid == pid) {
            return Ok(&owned.value);
        }
        if current_ref.is_some() {
            tracing::debug!(pid, "new process after fork(): building its own state");
        }
        let fresh = Box::into_raw(Box::new(Owned {
            pid,
            value: init(current_ref.map(|o| &o.value))?,
        }));
        match self
            .current
            .compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire)
        {
            // The value replaced, if any, is the parent's: leaked (see the module comment).
            // SAFETY: just published; valid until `Drop`.
            Ok(_) => Ok(unsafe { &(*fresh).value }),
            Err(winner) => {
                // SAFETY: `fresh` came from `Box::into_raw` above and was never published.
                drop(unsafe { Box::from_raw(fresh) });
                // Only a thread of this process can have swapped the pointer since the load,
                // and it published a value of this process.
                // SAFETY: non-null (it differs from what we loaded only by being published
                // by `Box::into_raw`), valid until `Drop`.
                Ok(unsafe { &(*winner).value })
            }
        }
    }
}

impl<T> Drop for PerProcess<T> {
    fn drop(&mut self) {
        let current = *self.current.get_mut();
        // SAFETY: as in `get_or_try_init`; `&mut self` means no borrow of the value is alive.
        let ours = unsafe { current.as_ref() }.is_some_and(|o| o.pid == std::process::id());
        if ours {
            // SAFETY: built by this process with `Box::into_raw` and published once.
            drop(unsafe { Box::from_raw(current) });
        }
        // A value inherited from the parent is left alone (see the module comment).
    }
}

// SAFETY: sharing a `PerProcess` shares `&T` (needs `T: Sync`) and lets any thread build the
// `T` that the owner's thread later drops (needs `T: Send`); sending it sends the `T`.
unsafe impl<T: Send + Sync> Sync for PerProcess<T> {}
// SAFETY: see above.
unsafe impl<T: Send> Send for PerProcess<T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn built_once_per_process_and_dropped_with_its_owner() {
        struct Counted(Arc<AtomicUsize>);
        impl Drop for Counted {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let drops = Arc::new(AtomicUsize::new(0));
        let slot = PerProcess::new();
        let mut builds = 0;
        for _ in 0..3 {
            slot.get_or_try_init(|inherited| {
                assert!(inherited.is_none());
                builds += 1;
                Ok::<_, ()>(Counted(drops.clone()))
            })
            .unwrap();
        }
        assert_eq!(builds, 1);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(slot);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_failed_init_publishes_nothing() {
        let slot: PerProcess<u32> = PerProcess::new();
        assert_eq!(slot.get_or_try_init(|_| Err("no")), Err("no"));
        assert_eq!(slot.get_or_try_init(|_| Ok::<_, ()>(7)), Ok(&7));
    }

    #[test]
    fn racing_threads_all_get_the_one_published_value() {
        let slot = Arc::new(PerProcess::new());
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|i| {
                let (slot, barrier) = (slot.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    *slot.get_or_try_init(|_| Ok::<_, ()>(i)).unwrap()
                })
            })
            .collect();
        let seen: Vec<u32> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(seen.iter().all(|v| *v == seen[0]), "{seen:?}");
        assert_eq!(slot.get_or_try_init(|_| Ok::<_, ()>(99)), Ok(&seen[0]));
    }
}
