//! Small HTTP/1.1 helpers shared by the services: serving one connection with
//! hyper, and making one request with hyper's client over a turmoil stream.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::time::Duration;

use crate::net::TcpStream;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

pub type Body = Full<Bytes>;

/// The `x-request-id` a request carries (`user-0001/c2`: user and connection).
pub fn request_id(headers: &hyper::HeaderMap) -> Option<&str> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok())
}

/// The user a request id names, for the trace's user column: servers log
/// which user a request belongs to the way real ones would, from the id the
/// client sent, before (or without) authenticating it.
pub fn request_user(request_id: &str) -> Option<std::rc::Rc<str>> {
    request_id
        .split('/')
        .next()
        .filter(|u| !u.is_empty())
        .map(std::rc::Rc::from)
}

/// A response with a JSON body.
pub fn json(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())))
        .expect("static response parts are valid")
}

/// Serve HTTP/1.1 on one accepted connection until the peer closes it.
pub async fn serve<F, Fut>(stream: TcpStream, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + 'static,
    Fut: Future<Output = Response<Body>> + 'static,
{
    let service = hyper::service::service_fn(move |req| {
        let fut = handler(req);
        async move { Ok::<_, Infallible>(fut.await) }
    });
    // A connection error here is the peer going away mid-request, which the
    // caller (the gateway) observes and reports itself.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// Read a request body whole (auth requests are a few hundred bytes).
pub async fn body_bytes(body: Incoming) -> Option<Bytes> {
    body.collect().await.ok().map(|c| c.to_bytes())
}

/// One HTTP/1.1 request over a fresh connection, with a deadline for the
/// whole exchange. Returns the status and body.
pub async fn request(
    stream: TcpStream,
    req: Request<Body>,
    deadline: Duration,
) -> io::Result<(StatusCode, Bytes)> {
    let exchange = async {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        let resp = sender.send_request(req).await.map_err(io::Error::other)?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(io::Error::other)?
            .to_bytes();
        Ok((status, body))
    };
    match tokio::time::timeout(deadline, exchange).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "request timed out")),
    }
}
