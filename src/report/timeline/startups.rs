//! Startup windows: auth from `Booting` to `Ready`, a gateway boot from
//! `Boot` to `Listening`, the agent pipeline from `Initialising` to
//! `Ready`, shaded on the host that is starting.

use std::time::Duration;

use super::builder::Builder;
use super::{Window, WindowKind};
use crate::trace::{AuthEvent, GatewayEvent, PipelineEvent};

/// What is starting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Startup {
    Auth,
    Gateway,
    Pipeline,
}

impl Startup {
    /// In the order unfinished startups are closed at the end of the run.
    pub(super) const ALL: [Startup; 3] = [Startup::Auth, Startup::Gateway, Startup::Pipeline];
}

impl Builder {
    pub(super) fn auth_startup(&mut self, at: Duration, host: usize, ev: &AuthEvent) {
        match ev {
            AuthEvent::Booting { .. } => {
                self.open_startup(Startup::Auth, at, host, "auth starting")
            }
            AuthEvent::Ready => self.close_startup(Startup::Auth, at),
            _ => {}
        }
    }

    pub(super) fn gateway_startup(&mut self, at: Duration, host: usize, ev: &GatewayEvent) {
        match ev {
            GatewayEvent::Boot { .. } => {
                // A new boot ends what the last one left unfinished,
                // its pipeline's initialisation too.
                self.close_startup(Startup::Pipeline, at);
                self.open_startup(Startup::Gateway, at, host, "gateway booting");
            }
            GatewayEvent::Listening => self.close_startup(Startup::Gateway, at),
            // A boot that stops ends its pipeline's initialisation unfinished.
            GatewayEvent::Stopped => self.close_startup(Startup::Pipeline, at),
            GatewayEvent::Draining { .. } | GatewayEvent::Conn { .. } => {}
        }
    }

    pub(super) fn pipeline_startup(&mut self, at: Duration, host: usize, ev: &PipelineEvent) {
        match ev {
            PipelineEvent::Initialising { .. } => {
                self.open_startup(Startup::Pipeline, at, host, "agent pipeline initialising")
            }
            PipelineEvent::Ready => self.close_startup(Startup::Pipeline, at),
            _ => {}
        }
    }

    /// A startup begins; one of the same kind under way ends here.
    fn open_startup(&mut self, key: Startup, at: Duration, host: usize, text: &str) {
        self.close_startup(key, at);
        self.startups.insert(key, (at, host, text.to_string()));
    }

    pub(super) fn close_startup(&mut self, key: Startup, at: Duration) {
        if let Some((start, host, text)) = self.startups.remove(&key)
            && at > start
        {
            self.windows.push(Window {
                kind: WindowKind::Startup,
                start,
                end: at,
                hosts: vec![host],
                text,
            });
        }
    }
}
