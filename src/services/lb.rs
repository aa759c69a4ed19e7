//! The load balancer: an HTTP/1.1 reverse proxy on `lb:8080`.
//!
//! Each client connection is served by hyper. An upgrade request has the
//! configured headers stripped (the `strip_headers` fault: a load balancer
//! that drops `Authorization` on the WebSocket upgrade, as staging's did),
//! is forwarded with hyper's client to the gateway, and on `101` both
//! connections are upgraded and spliced byte for byte. When no gateway
//! instance answers, the client gets `503`.

use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::HeaderName;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;

use super::http::{self, Body};
use super::middlebox::Middlebox;
use crate::net::{self, GATEWAY, GATEWAY_PORT, LB, LB_PORT, TcpListener, TcpStream};
use crate::trace::{Kind, LbEvent, Probe, Recorder};

/// How long the balancer waits for a gateway instance to accept.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long it waits for the gateway's answer to the upgrade.
const UPSTREAM_RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

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
}

impl LoadBalancer {
    /// Once both sides have switched protocols, forward between them
    /// through the middlebox; a side that failed to upgrade is recorded.
    async fn splice(self: Rc<Self>, user: Option<Rc<str>>, client: OnUpgrade, gateway: OnUpgrade) {
        // Back to the sockets hyper was given, with the bytes it read
        // ahead: the middlebox forwards, faults and resets them.
        let socket = |upgraded: hyper::Result<Upgraded>| {
            upgraded.ok()?.downcast::<TokioIo<TcpStream>>().ok()
        };
        let (Some(client), Some(gateway)) = (socket(client.await), socket(gateway.await)) else {
            let failed = Kind::Lb(LbEvent::SpliceFailed);
            return self.recorder.record(&self.host, user.as_ref(), failed);
        };
        self.middlebox
            .splice(
                client.io.into_inner(),
                client.read_buf,
                gateway.io.into_inner(),
                gateway.read_buf,
            )
            .await;
    }

    pub async fn run(self: Rc<Self>) -> turmoil::Result {
        let listener = TcpListener::bind(LB, LB_PORT).await?;
        loop {
            let (stream, _) = listener.accept().await?;
            let lb = self.clone();
            tokio::task::spawn_local(async move {
                let service = hyper::service::service_fn(move |req| {
                    let lb = lb.clone();
                    async move { Ok::<_, std::convert::Infallible>(lb.forward(req).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .with_upgrades()
                    .await;
            });
        }
    }

    async fn forward(self: Rc<Self>, mut req: Request<Incoming>) -> Response<Body> {
        let user = http::request_id(req.headers()).and_then(http::request_user);
        let mut stripped = Vec::new();
        for name in &self.strip_headers {
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes())
                && req.headers_mut().remove(&name).is_some()
            {
                stripped.push(name.as_str().to_string());
            }
        }
        let log = |event: LbEvent| {
            self.recorder
                .record(&self.host, user.as_ref(), Kind::Lb(event))
        };
        log(LbEvent::Forwarded {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            stripped,
        });

        let upstream = match net::connect(GATEWAY, GATEWAY_PORT, UPSTREAM_CONNECT_TIMEOUT).await {
            Ok(s) => s,
            Err(e) => {
                log(LbEvent::NoGateway {
                    reason: net::reason(&e),
                });
                self.recorder
                    .probe(&self.host, user.as_ref(), Probe::NoGateway);
                return http::json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    json!({"reason": "no_ready_gateway"}),
                );
            }
        };
        let client_upgrade = hyper::upgrade::on(&mut req);
        let (mut parts, _body) = req.into_parts();
        if let Some(path) = &self.upstream_path
            && let Ok(uri) = path.parse()
        {
            parts.uri = uri;
        }
        let upstream_req = Request::from_parts(parts, Full::new(Bytes::new()));

        let exchange = async {
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(upstream)).await?;
            tokio::task::spawn_local(async move {
                let _ = conn.with_upgrades().await;
            });
            sender.send_request(upstream_req).await
        };
        let mut resp = match tokio::time::timeout(UPSTREAM_RESPONSE_TIMEOUT, exchange).await {
            Ok(Ok(resp)) => resp,
            Ok(Err(e)) => {
                log(LbEvent::UpstreamError {
                    error: e.to_string(),
                });
                return http::json(StatusCode::BAD_GATEWAY, json!({"reason": "upstream_error"}));
            }
            Err(_) => {
                log(LbEvent::UpstreamTimeout);
                return http::json(
                    StatusCode::GATEWAY_TIMEOUT,
                    json!({"reason": "upstream_timeout"}),
                );
            }
        };
        let status = resp.status();
        if status == StatusCode::SWITCHING_PROTOCOLS {
            let upstream_upgrade = hyper::upgrade::on(&mut resp);
            let splice = self
                .clone()
                .splice(user.clone(), client_upgrade, upstream_upgrade);
            tokio::task::spawn_local(splice);
        }
        log(LbEvent::Answered {
            status: status.as_u16(),
        });
        let (parts, _) = resp.into_parts();
        Response::from_parts(parts, Full::new(Bytes::new()))
    }
}
