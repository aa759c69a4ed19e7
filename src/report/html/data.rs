//! The page's data: a [`Timeline`] as compact JSON, which the inline script
//! draws. Strings are shared through one table (`strs`) and times are whole
//! simulated milliseconds, so a run of 1,000 users stays a few megabytes.
//!
//! Shape (indexes into `strs` are written `s`):
//! - `end`: ms; `hosts`: `[name, is_client_host]`;
//! - `users`: `[name, host, group, token_s, entitled, outcome_s|-1,
//!   [close codes], [http statuses], violated]`;
//! - `sample`: the users drawn before any filter;
//! - `sim`: fault-row marks `[t, class_s, text_s]`;
//! - `host_marks`: `[t, host, class_s, text_s, user|-1]`;
//! - `user_marks[u]`: `[t, class_s, text_s]` or `[t, class_s, text_s, seq]`;
//! - `user_spans[u]`: `[t0, t1, class_s, text_s]`;
//! - `arrows`: `[user, from, t0, to, t1, class_s, text_s]`, `from`/`to` a
//!   host index or -1 for the user's own lane;
//! - `windows`: `[t0, t1, [hosts], class_s, text_s]`;
//! - `flags`: `[t, lane_kind, lane, invariant, user|null, host, detail]`
//!   with `lane_kind` `u`ser, `h`ost or `s`im;
//! - `gateway_open`: `[t, open connections]` steps.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::report::timeline::{Lane, Timeline, Track};
use crate::trace::UserEnd;

/// Lanes drawn before the reader filters: every user up to this many,
/// otherwise a sample.
pub const SAMPLE: usize = 40;

/// Interned strings, in first-use order.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: BTreeMap<String, usize>,
}

impl Strings {
    fn id(&mut self, s: &str) -> usize {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), self.list.len() - 1);
        self.list.len() - 1
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// The users drawn before any filter: all of them when they fit; else
/// those a violation names, then those whose run went unusually (a close
/// other than 1000, a refused upgrade, not done), then evenly spaced others.
pub fn sample(tl: &Timeline) -> Vec<usize> {
    let n = tl.users.len();
    if n <= SAMPLE {
        return (0..n).collect();
    }
    let mut chosen: Vec<usize> = (0..n)
        .filter(|&u| tl.users[u].violated)
        .take(SAMPLE / 2)
        .collect();
    let unusual = (0..n).filter(|&u| {
        let user = &tl.users[u];
        !user.violated
            && (user.codes.iter().any(|&c| c != 1000)
                || !user.http.is_empty()
                || user.outcome != Some(UserEnd::Done))
    });
    let room = (SAMPLE * 3 / 4).saturating_sub(chosen.len());
    chosen.extend(unusual.take(room));
    let rest = SAMPLE - chosen.len();
    let step = n as f64 / rest as f64;
    let mut k = 0.0;
    while chosen.len() < SAMPLE && (k as usize) < n {
        let u = k as usize;
        if !chosen.contains(&u) {
            chosen.push(u);
        }
        k += step;
    }
    chosen.sort_unstable();
    chosen.dedup();
    chosen
}

/// The page data of `tl`. Strings are interned in the order the parts are
/// written, so the table is the same for the same run.
pub fn to_json(tl: &Timeline) -> Value {
    let mut s = Strings::default();
    let hosts: Vec<Value> = tl
        .hosts
        .iter()
        .map(|h| json!([h.name, h.clients]))
        .collect();
    let users = users(tl, &mut s);
    let (sim, host_marks, user_marks) = marks(tl, &mut s);
    let user_spans = user_spans(tl, &mut s);
    let arrows = arrows(tl, &mut s);
    let windows: Vec<Value> = tl
        .windows
        .iter()
        .map(|w| {
            json!([
                ms(w.start),
                ms(w.end),
                w.hosts,
                s.id(w.kind.class()),
                s.id(&w.text)
            ])
        })
        .collect();
    json!({
        "end": ms(tl.end),
        "hosts": hosts,
        "users": users,
        "sample": sample(tl),
        "sim": sim,
        "host_marks": host_marks,
        "user_marks": user_marks,
        "user_spans": user_spans,
        "arrows": arrows,
        "windows": windows,
        "flags": flags(tl),
        "gateway_open": gateway_open(tl),
        "strs": s.list,
    })
}

fn users(tl: &Timeline, s: &mut Strings) -> Vec<Value> {
    tl.users
        .iter()
        .map(|u| {
            let outcome = u
                .outcome
                .as_ref()
                .map(|o| s.id(o.as_str()) as i64)
                .unwrap_or(-1);
            json!([
                u.name,
                u.host,
                u.group,
                s.id(&u.token),
                u8::from(u.entitled),
                outcome,
                u.codes,
                u.http,
                u8::from(u.violated)
            ])
        })
        .collect()
}

/// Marks by lane: the fault row's, the host rows', each user's.
fn marks(tl: &Timeline, s: &mut Strings) -> (Vec<Value>, Vec<Value>, Vec<Vec<Value>>) {
    let mut sim = Vec::new();
    let mut host_marks = Vec::new();
    let mut user_marks: Vec<Vec<Value>> = vec![Vec::new(); tl.users.len()];
    for m in &tl.marks {
        let (t, class, text) = (ms(m.at), s.id(&m.class), s.id(&m.text));
        match m.track.lane(tl) {
            Lane::Sim => sim.push(json!([t, class, text])),
            Lane::Host(h) => {
                let user = m.user.map(|u| u as i64).unwrap_or(-1);
                host_marks.push(json!([t, h, class, text, user]));
            }
            Lane::User(u) => user_marks[u].push(match m.seq {
                Some(seq) => json!([t, class, text, seq]),
                None => json!([t, class, text]),
            }),
        }
    }
    (sim, host_marks, user_marks)
}

/// The spans on users' lanes (server spans are the Chrome trace's).
fn user_spans(tl: &Timeline, s: &mut Strings) -> Vec<Vec<Value>> {
    let mut user_spans: Vec<Vec<Value>> = vec![Vec::new(); tl.users.len()];
    for sp in &tl.spans {
        if let Track::User(u) = sp.track {
            user_spans[u].push(json!([
                ms(sp.start),
                ms(sp.end),
                s.id(&sp.class),
                s.id(&sp.text)
            ]));
        }
    }
    user_spans
}

fn arrows(tl: &Timeline, s: &mut Strings) -> Vec<Value> {
    let end_of = |track: Track| -> i64 {
        match track.lane(tl) {
            Lane::Host(h) => h as i64,
            _ => -1,
        }
    };
    tl.arrows
        .iter()
        .map(|a| {
            json!([
                a.user,
                end_of(a.from.1),
                ms(a.from.0),
                end_of(a.to.1),
                ms(a.to.0),
                s.id(&a.class),
                s.id(&a.text)
            ])
        })
        .collect()
}

fn flags(tl: &Timeline) -> Vec<Value> {
    tl.flags
        .iter()
        .map(|f| {
            let (kind, lane) = match f.lane {
                Lane::User(u) => ("u", u),
                Lane::Host(h) => ("h", h),
                Lane::Sim => ("s", 0),
            };
            json!([ms(f.at), kind, lane, f.invariant, f.user, f.host, f.detail])
        })
        .collect()
}

/// Open gateway connections over time, one step per millisecond that
/// changes it.
fn gateway_open(tl: &Timeline) -> Vec<Value> {
    let mut delta: BTreeMap<u64, i64> = BTreeMap::new();
    for c in &tl.gateway_conns {
        *delta.entry(ms(c.start)).or_default() += 1;
        if c.end < tl.end {
            *delta.entry(ms(c.end)).or_default() -= 1;
        }
    }
    let mut open = 0;
    let mut out = vec![json!([0, 0])];
    for (t, d) in delta {
        if d != 0 {
            open += d;
            out.push(json!([t, open]));
        }
    }
    out
}
