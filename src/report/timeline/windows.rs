//! Shaded windows (startups from the servers' lines, faults from the
//! scenario) and the oracle's violations placed on lanes.

use std::time::Duration;

use super::builder::Builder;
use super::{Flag, Host, Lane, Track, Window};
use crate::oracle::Violation;
use crate::scenario::{FaultKind, Scenario};

impl Builder {
    /// `auth booting` .. `auth ready`, `gateway boot N` .. `gateway listening`,
    /// `pipeline initialising` .. `pipeline ready`.
    pub(super) fn startup_note(&mut self, at: Duration, host: usize, text: &str) {
        let starts: [(&str, &'static str, &str); 3] = [
            ("auth booting", "auth", "auth starting"),
            ("gateway boot", "gateway", "gateway booting"),
            (
                "pipeline initialising",
                "pipeline",
                "agent pipeline initialising",
            ),
        ];
        let ends: [(&str, &'static str); 4] = [
            ("auth ready", "auth"),
            ("gateway listening", "gateway"),
            ("pipeline ready", "pipeline"),
            // A boot that ends its pipeline's initialisation unfinished.
            ("gateway stopped", "pipeline"),
        ];
        for (prefix, key, label) in starts {
            if text.starts_with(prefix) {
                // A new boot ends what the last one left unfinished.
                if key == "gateway" {
                    self.close_startup("pipeline", at);
                }
                self.close_startup(key, at);
                self.startups.insert(key, (at, host, label.to_string()));
            }
        }
        for (prefix, key) in ends {
            if text.starts_with(prefix) {
                self.close_startup(key, at);
            }
        }
    }

    pub(super) fn close_startup(&mut self, key: &'static str, at: Duration) {
        if let Some((start, host, text)) = self.startups.remove(key)
            && at > start
        {
            self.windows.push(Window {
                start,
                end: at,
                hosts: vec![host],
                class: "startup",
                text,
            });
        }
    }

    /// The scenario's faults, as windows on the hosts they hit. A crashed or
    /// restarted host's window lasts until the trace says it came back.
    pub(super) fn fault_windows(&mut self, scenario: &Scenario) {
        let end = self.end;
        let clients: Vec<usize> = (0..self.hosts.len())
            .filter(|&h| self.hosts[h].clients)
            .collect();
        let expand = |name: &str, hosts: &[Host]| -> Vec<usize> {
            if name == "clients" {
                clients.clone()
            } else {
                hosts
                    .iter()
                    .position(|h| h.name == name)
                    .into_iter()
                    .collect()
            }
        };
        if !scenario.load_balancer.strip_headers.is_empty() {
            self.windows.push(Window {
                start: Duration::ZERO,
                end,
                hosts: expand("lb", &self.hosts),
                class: "strip",
                text: format!(
                    "lb strips {}",
                    scenario.load_balancer.strip_headers.join(", ")
                ),
            });
        }
        for f in &scenario.faults {
            if f.at > end {
                continue;
            }
            let lasts = f.duration.unwrap_or_default();
            let (hosts, what) = match (&f.between, &f.host) {
                (Some([a, b]), _) => {
                    let mut hosts = expand(a, &self.hosts);
                    hosts.extend(expand(b, &self.hosts));
                    (hosts, format!("{} {a} <-> {b}", f.kind.as_str()))
                }
                (None, Some(h)) => (expand(h, &self.hosts), format!("{} {h}", f.kind.as_str())),
                (None, None) => (Vec::new(), f.kind.as_str().to_string()),
            };
            let mut stop = f.at + lasts;
            if !f.kind.is_link()
                && let Some(h) = &f.host
            {
                let back = format!("{h} restarted");
                if let Some(m) = self
                    .marks
                    .iter()
                    .find(|m| m.track == Track::Sim && m.at >= f.at && m.text == back)
                {
                    stop = stop.max(m.at);
                }
            }
            let label = if f.kind == FaultKind::Restart && lasts.is_zero() {
                what
            } else {
                format!("{what} for {}", crate::scenario::format_duration(lasts))
            };
            self.windows.push(Window {
                start: f.at,
                end: stop.min(end),
                hosts,
                class: "fault",
                text: label,
            });
        }
    }

    pub(super) fn flags(&mut self, violations: &[Violation]) -> Vec<Flag> {
        violations
            .iter()
            .map(|v| {
                let user = v
                    .user
                    .as_deref()
                    .and_then(|n| self.user_index.get(n))
                    .copied();
                if let Some(u) = user {
                    self.users[u].violated = true;
                }
                let lane = match user {
                    Some(u) => Lane::User(u),
                    None => match self.hosts.iter().position(|h| h.name == v.host) {
                        Some(h) => Lane::Host(h),
                        None => Lane::Sim,
                    },
                };
                Flag {
                    at: v.at,
                    lane,
                    invariant: v.invariant.as_str().to_string(),
                    user: v.user.clone(),
                    host: v.host.clone(),
                    detail: v.detail.clone(),
                }
            })
            .collect()
    }
}
