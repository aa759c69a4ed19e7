//! `stagesim serve [SCENARIO] [--listen ADDR] [--secret S] [--for DURATION]`
//! and `stagesim token [--user NAME] [--kind KIND] [--lifetime DURATION]
//! [--secret S]`: the backend on real sockets for any WebSocket client, and
//! the tokens it accepts.
//!
//! Arguments -> the secret (`secret`: never empty, never the public one
//! off loopback) -> `net::LiveNet` (lb on ADDR, gateway and auth on free
//! ports of 127.0.0.1) -> the services of `services::backend`, unchanged,
//! on a tokio runtime, with the scenario's gateway drains and restarts and
//! `lb`'s byte faults on the wall clock since it started (`faults::live`),
//! -> until interrupted or DURATION is up. The timeouts
//! and caps that hold against hostile clients are `services::limits`'s
//! live defaults, each settable by a flag ([`LimitArgs`]). `token` mints
//! with the same secret and fails (exit 2) if the token cannot be written
//! out.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{UsageError, out, values};
use crate::faults::live as faults;
use crate::net::{AUTH, GATEWAY, LB, LiveNet, go_live};
use crate::scenario::{self, Fault, Scenario, TokenKind};
use crate::services::backend::Backend;
use crate::services::limits::Limits;
use crate::trace::Recorder;

/// Where `serve` listens unless told otherwise.
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A scenario file (or the name of a built-in scenario) whose backend
    /// settings to serve with (startups, latencies, pool and connection
    /// limits, [load_balancer], [bugs]) and whose gateway drains and
    /// restarts and lb byte faults to apply, timed from when serve starts;
    /// its users and other faults are not used. Default: every setting at
    /// its default.
    pub scenario: Option<PathBuf>,
    /// The address lb listens on (port 0: a free port).
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// The token signing secret [default: tokens' built-in secret].
    #[arg(long, env = "STAGESIM_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Stop after this long (like "10m", at most "1000h"); default: until
    /// interrupted.
    #[arg(long = "for", value_name = "DURATION", value_parser = serve_for)]
    pub for_: Option<Duration>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `serve --for`: more than nothing; a server stopped before it starts
/// is a mistake (leave the flag out to run until interrupted).
fn serve_for(text: &str) -> Result<Duration, String> {
    let d = scenario::parse_duration(text).map_err(|e| format!("`--for`: {e}"))?;
    if d.is_zero() {
        return Err(format!(
            "`--for` takes a duration from 1ms to 1000h, like \"10m\" (leave it out to serve \
             until interrupted); got `{}`",
            values::shown(text)
        ));
    }
    Ok(d)
}

pub fn execute(args: ServeArgs) -> Result<u8, UsageError> {
    let secret = super::secret::resolve(args.secret)?;
    super::secret::check_listen(args.listen, secret.as_deref())?;
    let scenario = match &args.scenario {
        Some(path) => super::source::Source::resolve(path)?.load("serve")?,
        None => Scenario::with_defaults("serve"),
    };
    let plan = served_faults(&scenario)?;
    let internal: SocketAddr = ([127, 0, 0, 1], 0).into();
    let net = LiveNet::bind(&[(LB, args.listen), (GATEWAY, internal), (AUTH, internal)])
        .map_err(|e| UsageError(format!("error: cannot listen on {}: {e}", args.listen)))?
        .with_secret(secret);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| UsageError(format!("error: cannot start a tokio runtime: {e}")))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async {
        let (_live, net) = go_live(net);
        let limits = args.limits.apply(Limits::live());
        let recorder = Recorder::discarding();
        let backend = Backend::with_limits(&scenario, crate::run::DEFAULT_SEED, &recorder, limits);
        tokio::task::spawn_local(backend.auth.clone().serve());
        tokio::task::spawn_local(backend.lb.clone().serve());
        let (gateway, control) = (backend.gateway.clone(), backend.control.clone());
        let drains = faults::drive(gateway, control, plan.drains, recorder.clone());
        tokio::task::spawn_local(drains);
        let bytes = faults::drive_bytes(plan.bytes, backend.lb.middlebox.clone(), recorder);
        tokio::task::spawn_local(bytes);
        let lb = net.addr(LB).expect("lb was bound");
        for (service, name) in [("lb", LB), ("gateway", GATEWAY), ("auth", AUTH)] {
            let addr = net.addr(name).expect("bound");
            tracing::info!(target: "stagesim::serve", "{service} listening on {addr}");
        }
        out(&format!(
            "serving ws://{lb}/ws (scenario {}; gateway {}, auth {})\n\
             tokens: stagesim token --user NAME (same --secret / STAGESIM_SECRET)\n",
            scenario.name,
            net.addr(GATEWAY).expect("bound"),
            net.addr(AUTH).expect("bound"),
        ));
        let until = async {
            match args.for_ {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            () = until => {}
        }
    });
    Ok(0)
}

/// The faults `serve` applies: the gateway's drains and restarts, and
/// `lb`'s byte faults. Any other is left out, said once on stderr.
fn served_faults(scenario: &Scenario) -> Result<faults::Plan, UsageError> {
    let (kept, left): (Vec<Fault>, Vec<Fault>) =
        scenario.faults.iter().copied().partition(|f| match f {
            Fault::Drain { .. } => true,
            Fault::Restart { host, .. } => host.drains(),
            other => other.kind().is_byte_level(),
        });
    if !left.is_empty() {
        let kinds: Vec<String> = left.iter().map(|f| f.kind().to_string()).collect();
        super::err(&format!(
            "serve leaves out {} fault(s) it cannot apply ({}); it applies the gateway's \
             drains and restarts and lb's byte faults\n",
            left.len(),
            kinds.join(", ")
        ));
    }
    let mut only = scenario.clone();
    only.faults = kept;
    faults::plan(&only).map_err(|e| UsageError(format!("error: {e}")))
}

#[derive(Args, Debug)]
pub struct TokenArgs {
    /// The user id (the token's `sub`): 1 to 128 printable ASCII
    /// characters, no spaces.
    #[arg(long, default_value = "user-0001", value_parser = user)]
    pub user: String,
    /// valid, expired, bad_signature or malformed.
    #[arg(long, default_value = "valid", value_parser = token_kind)]
    pub kind: TokenKind,
    /// How long a valid token lives (an expired one died this long ago),
    /// from 1s to 8760h (a year, as `token_lifetime` in a scenario).
    #[arg(long, default_value = "1h", value_parser = lifetime)]
    pub lifetime: Duration,
    /// The token signing secret [default: tokens' built-in secret].
    #[arg(long, env = "STAGESIM_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
}

/// `token --user`: what auth takes as a `sub` (`tokens::valid_subject`),
/// so that no command mints a token `serve` would refuse as malformed.
fn user(text: &str) -> Result<String, String> {
    if !crate::tokens::valid_subject(text) {
        return Err(format!(
            "`--user` takes 1 to {} printable ASCII characters without spaces (a token's \
             `sub`, which auth checks so); got `{}`",
            crate::tokens::MAX_SUBJECT_CHARS,
            values::shown(text)
        ));
    }
    Ok(text.to_string())
}

/// `token --lifetime`: 1s to a year. `exp` is in whole seconds, so less
/// than a second would mint a token that is expired when printed.
fn lifetime(text: &str) -> Result<Duration, String> {
    let max = scenario::MAX_TOKEN_LIFETIME;
    let d = scenario::parse_duration_up_to(text, max).map_err(|e| format!("`--lifetime`: {e}"))?;
    if d < Duration::from_secs(1) {
        return Err(format!(
            "`--lifetime` takes a duration from 1s to {}, like \"1h\"; got `{}`",
            scenario::format_duration(max),
            values::shown(text)
        ));
    }
    Ok(d)
}

fn token_kind(text: &str) -> Result<TokenKind, String> {
    match text.parse::<TokenKind>()? {
        TokenKind::Missing => Err("`missing` is the absence of a token; nothing to print".into()),
        kind => Ok(kind),
    }
}

/// Print a token signed as `serve` (with the same secret) checks it, minted
/// now by the machine's clock.
pub fn token(args: TokenArgs) -> Result<u8, UsageError> {
    let secret = super::secret::resolve(args.secret)?;
    // Minting reads the secret and the clock through the live switch.
    let net = LiveNet::bind(&[])
        .map_err(|e| UsageError(format!("error: {e}")))?
        .with_secret(secret);
    let (_live, _) = go_live(net);
    let now = crate::net::since_epoch();
    let text = crate::tokens::mint(args.kind, &args.user, now, args.lifetime)
        .expect("every kind but missing has a token");
    // Unlike `out`, a failed write is an error here: the token is the whole
    // output, and `TOKEN=$(stagesim token)` must not go on with nothing.
    print_checked(&format!("{text}\n"))
        .map_err(|e| UsageError(format!("error: cannot write the token to stdout: {e}")))?;
    Ok(0)
}

/// Write `text` to stdout and flush it, reporting any failure (a full
/// disk, a closed pipe).
fn print_checked(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// `serve`'s timeouts and caps; each unset keeps its live default
/// (docs/wire-protocol.md, "Timeouts and caps").
#[derive(Args, Debug, Default)]
pub struct LimitArgs {
    /// lb: a request head must arrive whole within this (slowloris) [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = |t: &str| timeout("--header-timeout", t))]
    pub header_timeout: Option<Duration>,
    /// gateway: the WebSocket upgrade must complete within this [default: 10s].
    #[arg(long, value_name = "DURATION", value_parser = |t: &str| timeout("--handshake-timeout", t))]
    pub handshake_timeout: Option<Duration>,
    /// The /echo route: closed 1001 after this long without a frame [default: 60s].
    #[arg(long, value_name = "DURATION", value_parser = |t: &str| timeout("--idle-timeout", t))]
    pub idle_timeout: Option<Duration>,
    /// lb: how long it waits for the gateway to accept before a 503 [default: 1s].
    #[arg(long, value_name = "DURATION", value_parser = |t: &str| timeout("--upstream-connect-timeout", t))]
    pub upstream_connect_timeout: Option<Duration>,
    /// lb: open connections; past it a new one gets 503 at once
    /// [default: a quarter of the descriptor limit, 16 to 10000].
    #[arg(long, value_name = "N", value_parser = |n: &str| cap("--max-lb-connections", n))]
    pub max_lb_connections: Option<u32>,
    /// The /echo route: open connections; past it a new one is closed 1013 [default: 64].
    #[arg(long, value_name = "N", value_parser = |n: &str| cap("--max-echo-connections", n))]
    pub max_echo_connections: Option<u32>,
    /// A chat connection: agent runs in flight; past it a message is
    /// answered `error` `overloaded` [default: 8].
    #[arg(long, value_name = "N", value_parser = |n: &str| cap("--max-runs-per-connection", n))]
    pub max_runs_per_connection: Option<u32>,
}

impl LimitArgs {
    /// `defaults` with every flag given put in.
    pub fn apply(&self, defaults: Limits) -> Limits {
        let mut limits = defaults;
        if let Some(t) = self.header_timeout {
            limits.header_read_timeout = Some(t);
        }
        if let Some(t) = self.handshake_timeout {
            limits.handshake_timeout = t;
        }
        if let Some(t) = self.idle_timeout {
            limits.idle_timeout = Some(t);
        }
        if let Some(t) = self.upstream_connect_timeout {
            limits.upstream_connect_timeout = t;
        }
        if let Some(n) = self.max_lb_connections {
            limits.lb_max_connections = Some(n);
        }
        if let Some(n) = self.max_echo_connections {
            limits.echo_max_connections = Some(n);
        }
        if let Some(n) = self.max_runs_per_connection {
            limits.max_runs_per_connection = n;
        }
        limits
    }
}

/// A timeout flag's value: a duration from 1ms to 1h (zero would refuse
/// everyone, and a longer one protects nothing).
fn timeout(flag: &str, text: &str) -> Result<Duration, String> {
    let refuse = || {
        let text = super::values::shown(text);
        format!("`{flag}` takes a duration from 1ms to 1h (like 10s); got `{text}`")
    };
    let d = scenario::parse_duration(text).map_err(|_| refuse())?;
    if d < Duration::from_millis(1) || d > Duration::from_secs(3600) {
        return Err(refuse());
    }
    Ok(d)
}

/// A cap flag's value: a whole number from 1 to 1000000 (zero would refuse
/// everyone).
fn cap(flag: &str, text: &str) -> Result<u32, String> {
    super::values::whole(flag, 1, 1_000_000, "", text).map(|n| n as u32)
}
