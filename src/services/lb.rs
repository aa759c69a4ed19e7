//! The load balancer: an HTTP/1.1 reverse proxy on `lb:8080`.
//!
//! Each client connection is served by hyper. An upgrade request has the
//! configured headers stripped (the `strip_headers` fault: a load balancer
//! that drops `Authorization` on the WebSocket upgrade, as staging's did),
//! is forwarded with hyper's client to the gateway, and on `101` both
//! connections are upgraded and spliced byte for byte. When no gateway
//! instance answers, the client gets `503`.
//!
//! Against hostile clients ([`Limits`]): the accept loop outlives its
//! errors (`net::Acceptor`); past `lb_max_connections` open connections a
//! new one is answered `503` at once, unread; a request head must arrive
//! within `header_read_timeout` (slowloris); a request that is not a
//! WebSocket upgrade is answered `426` or `400` here instead of failing at
//! the gateway as a `502`.

use std::cell::Cell;
use std::convert::Infallible;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, HeaderName, HeaderValue, UPGRADE};
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper::{Method, Request, Response, StatusCode, Version};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{self, Body};
use super::limits::Limits;
use super::middlebox::Middlebox;
use super::tap::{ConnTap, Tap};
use crate::net::{self, Acceptor, GATEWAY, GATEWAY_PORT, LB, LB_PORT, TcpListener, TcpStream};
use crate::trace::{Kind, LbEvent, Probe, Recorder};

/// How long it waits for the gateway's answer to the upgrade.
const UPSTREAM_RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection refused over the cap may take to be told so.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);
/// What a connection over the cap gets, whole, before its request is read.
const OVER_CAP_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\ncontent-length: 33\r\nconnection: close\r\n\r\n\
{\"reason\":\"too_many_connections\"}";

pub struct LoadBalancer {
    /// Lower-case header names removed from every forwarded request.
    pub strip_headers: Vec<String>,
    pub recorder: Recorder,
    pub host: Rc<str>,
    /// The path every upgrade is forwarded to, when the backend behind is
    /// not stagesim's gateway (`stagesim live --target ws://host:port/path`);
    /// `None` keeps the client's path.
    pub upstream_path: Option<String>,
    /// The byte-level faults in force on the spliced connections.
    pub middlebox: Rc<Middlebox>,
    /// Caps and timeouts (none new in a simulation).
    pub limits: Limits,
    /// Client connections open now, from accept to the end of their splice.
    pub open: Cell<u32>,
    /// Who watches each upgrade (`stagesim record`); none elsewhere.
    pub tap: Option<Rc<dyn Tap>>,
}

/// One client connection counted as open: held by its HTTP service and,
/// after a `101`, by its splice, so it counts until both are done.
struct Slot(Rc<LoadBalancer>);

impl Slot {
    fn new(lb: Rc<LoadBalancer>) -> Rc<Self> {
        lb.open.set(lb.open.get() + 1);
        Rc::new(Slot(lb))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.open.set(self.0.open.get() - 1);
    }
}

impl LoadBalancer {
    /// Once both sides have switched protocols, forward between them
    /// through the middlebox; a side that failed to upgrade is recorded.
    /// `_slot` keeps the connection counted until the splice ends. The
    /// task runs this future itself: an `async move` around it would hold
    /// the future twice (the captured one and the awaited one), 3 KiB per
    /// connected user.
    async fn splice(
        self: Rc<Self>,
        user: Option<Rc<str>>,
        client: OnUpgrade,
        gateway: OnUpgrade,
        tap: Option<Rc<dyn ConnTap>>,
        _slot: Rc<Slot>,
    ) {
        // Back to the sockets hyper was given, with the bytes it read
        // ahead: the middlebox forwards, faults and resets them.
        let socket = |upgraded: hyper::Result<Upgraded>| {
            upgraded.ok()?.downcast::<TokioIo<TcpStream>>().ok()
        };
        let (Some(client), Some(gateway)) = (socket(client.await), socket(gateway.await)) else {
            if let Some(tap) = &tap {
                tap.ended(false);
            }
            let failed = Kind::Lb(LbEvent::SpliceFailed);
            return self.recorder.record(&self.host, user.as_ref(), failed);
        };
        self.middlebox
            .splice(
                client.io.into_inner(),
                client.read_buf,
                gateway.io.into_inner(),
                gateway.read_buf,
                tap.as_deref(),
            )
            .await;
    }

    pub async fn serve(self: Rc<Self>) -> turmoil::Result {
        let listener = TcpListener::bind(LB, LB_PORT).await?;
        let mut acceptor = Acceptor::new(listener, "lb");
        loop {
            let stream = acceptor.next().await;
            let cap = self.limits.lb_max_connections;
            if cap.is_some_and(|cap| self.open.get() >= cap) {
                tokio::task::spawn_local(self.clone().refuse_over_cap(stream));
                continue;
            }
            let slot = Slot::new(self.clone());
            tokio::task::spawn_local(self.clone().serve_conn(stream, slot));
        }
    }

    /// Serve one client connection with hyper until it closes or upgrades.
    async fn serve_conn(self: Rc<Self>, stream: TcpStream, slot: Rc<Slot>) {
        let mut builder = hyper::server::conn::http1::Builder::new();
        if let Some(timeout) = self.limits.header_read_timeout {
            // Live only: the timer would add one per request to a simulation.
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(timeout);
        }
        let service = hyper::service::service_fn(move |req| {
            let (lb, slot) = (self.clone(), slot.clone());
            async move { Ok::<_, Infallible>(lb.forward(req, slot).await) }
        });
        let _ = builder
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades()
            .await;
    }

    /// A connection over the cap: `503` at once, without reading the
    /// request (the cap is there to save descriptors), then closed. The
    /// bytes the client sent are read and dropped until it closes, at most
    /// `REFUSAL_LINGER`: closing with unread bytes sends a RST, which can
    /// destroy the `503` before the client reads it.
    async fn refuse_over_cap(self: Rc<Self>, mut stream: TcpStream) {
        let refused = LbEvent::Refused {
            status: 503,
            reason: "too_many_connections",
        };
        self.log(None, refused);
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            stream.write_all(OVER_CAP_RESPONSE).await?;
            stream.shutdown().await?;
            let mut scratch = [0u8; 1024];
            while stream.read(&mut scratch).await? > 0 {}
            Ok::<_, io::Error>(())
        })
        .await;
    }

    fn log(&self, user: Option<&Rc<str>>, event: LbEvent) {
        self.recorder.record(&self.host, user, Kind::Lb(event));
    }

    async fn forward(self: Rc<Self>, mut req: Request<Incoming>, slot: Rc<Slot>) -> Response<Body> {
        let user = http::request_id(req.headers()).and_then(http::request_user);
        // Judged on what the client sent, before any header is stripped: a
        // stripped header is the fault under study, and goes on to fail at
        // the gateway as it always did.
        if let Some((status, reason)) = upgrade_problem(&req) {
            let status_code = status.as_u16();
            let refused = LbEvent::Refused {
                status: status_code,
                reason,
            };
            self.log(user.as_ref(), refused);
            return not_an_upgrade(status, reason);
        }
        let tap = self.tap.as_ref().map(|t| t.request(req.headers()));
        let answered = |status: StatusCode, protocol: Option<&HeaderValue>| {
            if let Some(tap) = &tap {
                tap.answered(status.as_u16(), protocol.and_then(|p| p.to_str().ok()));
            }
        };
        let stripped = self.strip(&mut req);
        let forwarded = LbEvent::Forwarded {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            stripped,
        };
        self.log(user.as_ref(), forwarded);
        let upstream = match self.connect_upstream().await {
            Ok(s) => s,
            Err(e) => {
                answered(StatusCode::SERVICE_UNAVAILABLE, None);
                return self.no_gateway(user.as_ref(), &e);
            }
        };
        let client_upgrade = hyper::upgrade::on(&mut req);
        let upstream_req = self.upstream_request(req);
        let mut resp = match self.exchange(upstream, upstream_req, user.as_ref()).await {
            Ok(resp) => resp,
            Err(refusal) => {
                answered(refusal.status(), None);
                return refusal;
            }
        };
        let status = resp.status();
        answered(status, resp.headers().get("sec-websocket-protocol"));
        if status == StatusCode::SWITCHING_PROTOCOLS {
            let upstream_upgrade = hyper::upgrade::on(&mut resp);
            let splice = self.clone().splice(
                user.clone(),
                client_upgrade,
                upstream_upgrade,
                tap.clone(),
                slot,
            );
            tokio::task::spawn_local(splice);
        }
        let answered = LbEvent::Answered {
            status: status.as_u16(),
        };
        self.log(user.as_ref(), answered);
        let (parts, _) = resp.into_parts();
        Response::from_parts(parts, Full::new(Bytes::new()))
    }

    /// A connection to the gateway: to its first port, or, once `lb`
    /// already has a connection to that port from every one of its own
    /// (`AddrNotAvailable`: a simulation of more users than one port
    /// carries), to the next of the ports it listens on.
    async fn connect_upstream(&self) -> io::Result<TcpStream> {
        let timeout = self.limits.upstream_connect_timeout;
        let last = GATEWAY_PORT + self.limits.gateway_ports - 1;
        let mut port = GATEWAY_PORT;
        loop {
            match net::connect(GATEWAY, port, timeout).await {
                Err(e) if e.kind() == io::ErrorKind::AddrNotAvailable && port < last => port += 1,
                connected => return connected,
            }
        }
    }

    /// Remove the `strip_headers` fault's headers; the names removed.
    fn strip(&self, req: &mut Request<Incoming>) -> Vec<String> {
        let mut stripped = Vec::new();
        for name in &self.strip_headers {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes())
                && req.headers_mut().remove(&name).is_some()
            {
                stripped.push(name.as_str().to_string());
            }
        }
        stripped
    }

    /// No gateway accepted: 503.
    fn no_gateway(&self, user: Option<&Rc<str>>, e: &io::Error) -> Response<Body> {
        let reason = net::reason(e);
        self.log(user, LbEvent::NoGateway { reason });
        self.recorder.probe(&self.host, user, Probe::NoGateway);
        http::json(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"reason": "no_ready_gateway"}),
        )
    }

    /// The request as the gateway gets it: the client's head (its path
    /// replaced by a target's), no body.
    fn upstream_request(&self, req: Request<Incoming>) -> Request<Body> {
        let (mut parts, _body) = req.into_parts();
        if let Some(path) = &self.upstream_path
            && let Ok(uri) = path.parse()
        {
            parts.uri = uri;
        }
        Request::from_parts(parts, Full::new(Bytes::new()))
    }

    /// Send the upgrade to the gateway and wait for its answer; `Err` is
    /// the client's answer when the exchange fails (502) or the gateway
    /// says nothing in time (504).
    async fn exchange(
        &self,
        upstream: TcpStream,
        req: Request<Body>,
        user: Option<&Rc<str>>,
    ) -> Result<Response<Incoming>, Response<Body>> {
        let exchange = async {
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
            tokio::task::spawn_local(async move {
                let _ = conn.with_upgrades().await;
            });
            sender.send_request(req).await
        };
        match tokio::time::timeout(UPSTREAM_RESPONSE_TIMEOUT, exchange).await {
            Ok(Ok(resp)) => Ok(resp),
            Ok(Err(e)) => {
                let error = e.to_string();
                self.log(user, LbEvent::UpstreamError { error });
                Err(http::json(
                    StatusCode::BAD_GATEWAY,
                    json!({"reason": "upstream_error"}),
                ))
            }
            Err(_) => {
                self.log(user, LbEvent::UpstreamTimeout);
                Err(http::json(
                    StatusCode::GATEWAY_TIMEOUT,
                    json!({"reason": "upstream_timeout"}),
                ))
            }
        }
    }
}

/// Why `req` is not a WebSocket upgrade (RFC 6455, 4.2.1), as the status
/// and reason to answer with: no `Upgrade: websocket` or a version other
/// than 13 is `426` (the answer names the version); a malformed upgrade
/// `400`. `None`: forward it.
fn upgrade_problem(req: &Request<Incoming>) -> Option<(StatusCode, &'static str)> {
    let headers = req.headers();
    let has_token = |name: HeaderName, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if !has_token(UPGRADE, "websocket") {
        return Some((StatusCode::UPGRADE_REQUIRED, "websocket_upgrade_required"));
    }
    let version = headers
        .get("sec-websocket-version")
        .map(HeaderValue::as_bytes);
    if version.map(<[u8]>::trim_ascii) != Some(b"13") {
        return Some((
            StatusCode::UPGRADE_REQUIRED,
            "unsupported_websocket_version",
        ));
    }
    let well_formed = req.method() == Method::GET
        && req.version() >= Version::HTTP_11
        && has_token(CONNECTION, "upgrade")
        && headers.contains_key("sec-websocket-key");
    (!well_formed).then_some((StatusCode::BAD_REQUEST, "bad_websocket_upgrade"))
}

/// The answer to a request that is not an upgrade: its status, the
/// version this server speaks, and the reason as JSON.
fn not_an_upgrade(status: StatusCode, reason: &'static str) -> Response<Body> {
    let mut resp = http::json(status, json!({ "reason": reason }));
    let headers = resp.headers_mut();
    headers.insert("sec-websocket-version", HeaderValue::from_static("13"));
    if status == StatusCode::UPGRADE_REQUIRED {
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    }
    resp
}
