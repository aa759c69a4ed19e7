//! What `lb` shows an observer of its connections (`stagesim record`): each
//! upgrade request as the client sent it, the status it was answered with,
//! and, after a `101`, every byte spliced either way.
//!
//! `lb.forward -> Tap::request -> ConnTap (answered, bytes, ended)`; the
//! middlebox calls `bytes` for each chunk it reads, before it forwards it.
//! Nothing here can change what `lb` forwards or when: the calls are
//! synchronous and return nothing. A simulation's `lb` has no tap, so no
//! simulated byte or schedule depends on this module.

use std::rc::Rc;

use hyper::HeaderMap;

use super::middlebox::Flow;

/// Watches every upgrade `lb` forwards.
pub trait Tap {
    /// An upgrade request arrived, with the headers the client sent (before
    /// any is stripped); the observer of that one connection.
    fn request(&self, headers: &HeaderMap) -> Rc<dyn ConnTap>;
}

/// Watches one client connection through `lb`.
pub trait ConnTap {
    /// `lb` answered the upgrade with `status` (101, or its own 502/503/504,
    /// or the backend's refusal) and, on 101, the subprotocol chosen.
    fn answered(&self, status: u16, protocol: Option<&str>);
    /// `bytes` were read from one side and are about to be forwarded.
    fn bytes(&self, flow: Flow, bytes: &[u8]);
    /// The splice ended: both directions done, or `reset` by the middlebox.
    fn ended(&self, reset: bool);
}
