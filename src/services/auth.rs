//! The auth service: HTTP/1.1 on `auth:7000`.
//!
//! `POST /v1/validate` takes `{"token": "..."}` and answers 200
//! `{"user_id": ...}` or 401 `{"reason": ...}`; `GET /health/ready` answers
//! 200 once started. Startup takes `[auth] startup` (the listener is not
//! bound until then, so early callers are refused, as in staging), and each
//! validation takes a latency drawn from the seed. The gateway calls it;
//! nothing here knows about the oracle.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use hyper::{Method, Request, StatusCode};
use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::json;

use super::http::{self, Body};
use crate::net::{AUTH, AUTH_PORT, Acceptor, TcpListener};
use crate::scenario::Range;
use crate::tokens;
use crate::trace::{AuthEvent, Kind, Recorder};

/// What one auth instance needs; shared by its boots.
pub struct AuthService {
    pub startup: Duration,
    pub latency: Range<Duration>,
    pub seed: u64,
    pub recorder: Recorder,
    pub host: Rc<str>,
    /// Counts boots so that each boot draws from its own stream.
    pub boots: std::cell::Cell<u32>,
    /// Auth's wall clock (a `skew` fault sets it off).
    pub clock: Rc<crate::net::HostClock>,
    /// `[auth] leeway`.
    pub leeway: Duration,
}

impl AuthService {
    fn log(&self, user: Option<&Rc<str>>, event: AuthEvent) {
        self.recorder.record(&self.host, user, Kind::Auth(event));
    }

    /// The host software: one boot of the service.
    pub async fn serve(self: Rc<Self>) -> turmoil::Result {
        let boot = self.boots.get() + 1;
        self.boots.set(boot);
        let rng = Rc::new(RefCell::new(crate::seed::rng(
            self.seed,
            &format!("auth/boot{boot}"),
        )));
        self.log(
            None,
            AuthEvent::Booting {
                startup: self.startup,
                leeway: self.leeway,
            },
        );
        tokio::time::sleep(self.startup).await;
        let listener = TcpListener::bind(AUTH, AUTH_PORT).await?;
        self.log(None, AuthEvent::Ready);
        // Shares the process's descriptors with lb and the gateway: it must
        // outlive running out of them as they do.
        let mut acceptor = Acceptor::new(listener, "auth");
        loop {
            let stream = acceptor.next().await;
            let svc = self.clone();
            let rng = rng.clone();
            tokio::task::spawn_local(async move {
                http::serve(stream, move |req| handle(svc.clone(), rng.clone(), req)).await;
            });
        }
    }
}

async fn handle(
    svc: Rc<AuthService>,
    rng: Rc<RefCell<StdRng>>,
    req: Request<hyper::body::Incoming>,
) -> hyper::Response<Body> {
    let user = http::request_id(req.headers()).and_then(http::request_user);
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/health/ready") => http::json(StatusCode::OK, json!({"ready": true})),
        (&Method::POST, "/v1/validate") => {
            let delay = {
                let mut rng = rng.borrow_mut();
                rng.random_range(svc.latency.min..=svc.latency.max)
            };
            let body = http::body_bytes(req.into_body()).await;
            tokio::time::sleep(delay).await;
            let token = body
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v.get("token").and_then(|t| t.as_str()).map(str::to_string));
            let Some(token) = token else {
                svc.log(user.as_ref(), AuthEvent::NoToken);
                return http::json(StatusCode::BAD_REQUEST, json!({"reason": "no_token"}));
            };
            let now = svc.clock.since_epoch();
            match tokens::verify(&token, now, svc.leeway) {
                Ok(user_id) => {
                    svc.log(
                        user.as_ref(),
                        AuthEvent::Validated {
                            user: user_id.clone(),
                        },
                    );
                    http::json(StatusCode::OK, json!({"user_id": user_id}))
                }
                Err(refusal) => {
                    svc.log(user.as_ref(), AuthEvent::Refused { reason: refusal });
                    http::json(
                        StatusCode::UNAUTHORIZED,
                        json!({"reason": refusal.as_str()}),
                    )
                }
            }
        }
        (method, path) => {
            svc.log(
                user.as_ref(),
                AuthEvent::NotFound {
                    method: method.to_string(),
                    path: path.to_string(),
                },
            );
            http::json(StatusCode::NOT_FOUND, json!({"reason": "not_found"}))
        }
    }
}
