//! turmoil's ephemeral ports (vendor/patches/turmoil-0.7.2/03-ephemeral-ports.patch):
//! while a port is free, a connection gets the very port unpatched turmoil
//! gave it (so every trace hash stays as it was); once none is free, a port
//! is shared between destinations, as a real TCP stack shares it (a
//! connection is a (local, remote) pair), and a destination that already
//! has a connection from every port is refused with `AddrNotAvailable`
//! instead of a panic.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::ops::RangeInclusive;
use std::rc::Rc;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use turmoil::net::{TcpListener, TcpStream};

/// A server host `server` listening on `ports`: each connection is held
/// until the client closes it (its read ends), then dropped.
fn listen(sim: &mut turmoil::Sim<'_>, ports: &'static [u16]) {
    sim.host("server", move || async move {
        let mut accepts = Vec::new();
        for &port in ports {
            let listener = TcpListener::bind(("0.0.0.0", port)).await?;
            accepts.push(tokio::task::spawn_local(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    tokio::task::spawn_local(async move {
                        let mut byte = [0u8; 1];
                        let _ = stream.read(&mut byte).await;
                    });
                }
            }));
        }
        for accept in accepts {
            let _ = accept.await;
        }
        Ok(())
    });
}

/// A client closes a connection by dropping it; the server sees the close
/// one link latency later. turmoil keeps no TIME_WAIT, so a port is only
/// free towards the server once the server has let go: the client waits
/// this long (simulated) after each close.
const CLOSE_SEEN: Duration = Duration::from_millis(5);

fn sim(ephemeral: RangeInclusive<u16>) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .rng_seed(1)
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(1))
        .ephemeral_ports(ephemeral)
        .build()
}

/// Unpatched turmoil's assignment, as a model: from the cursor, wrapping
/// around the range, the first port that no connection uses.
struct OldScan {
    range: RangeInclusive<u16>,
    next: u16,
    users: BTreeMap<u16, u32>,
}

impl OldScan {
    fn assign(&mut self) -> u16 {
        for _ in self.range.clone() {
            let port = self.next;
            self.next = if port == *self.range.end() {
                *self.range.start()
            } else {
                port + 1
            };
            if !self.users.contains_key(&port) {
                *self.users.entry(port).or_default() += 1;
                return port;
            }
        }
        panic!("the model ran out of ports: the test must keep one free");
    }

    fn release(&mut self, port: u16) {
        let users = self.users.get_mut(&port).expect("a port in use");
        *users -= 1;
        if *users == 0 {
            self.users.remove(&port);
        }
    }
}

/// Connections opened and dropped in a pseudo-random order (a fixed
/// xorshift stream), never all ports at once, over a range that spans
/// three 64-port words: every port is the one unpatched turmoil's scan
/// would have given.
#[test]
fn while_a_port_is_free_each_connection_gets_the_port_turmoil_always_gave() {
    const RANGE: RangeInclusive<u16> = 49_100..=49_250;
    let mut sim = sim(RANGE);
    listen(&mut sim, &[9000]);
    let mismatches: Rc<RefCell<Vec<String>>> = Rc::default();
    let out = mismatches.clone();
    sim.client("client", async move {
        let mut model = OldScan {
            range: RANGE,
            next: *RANGE.start(),
            users: BTreeMap::new(),
        };
        let mut open: Vec<TcpStream> = Vec::new();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for step in 0..3_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let full = open.len() + 1 >= RANGE.len();
            if !open.is_empty() && (full || state % 5 < 2) {
                let stream = open.swap_remove((state >> 8) as usize % open.len());
                model.release(stream.local_addr()?.port());
                drop(stream);
                tokio::time::sleep(CLOSE_SEEN).await;
                continue;
            }
            let stream = TcpStream::connect(("server", 9000)).await?;
            let (got, want) = (stream.local_addr()?.port(), model.assign());
            if got != want {
                out.borrow_mut()
                    .push(format!("step {step}: port {got}, turmoil gave {want}"));
            }
            open.push(stream);
        }
        Ok(())
    });
    sim.run().expect("the client runs to its end");
    let mismatches = mismatches.take();
    assert!(
        mismatches.is_empty(),
        "{} ports differ from unpatched turmoil's, first: {:?}\n\
         reproduce: cargo test --test world ports::",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}

/// Four ephemeral ports, one bound by a listener of the client's own: three
/// connections to `server:9000` take the three free ports, a fourth is
/// refused; three to `server:9001` share those ports (never the bound one),
/// and a fourth is refused too. A port freed towards 9000 but still used
/// towards 9001 is shared again for the next connection to 9000.
#[test]
fn a_host_out_of_ports_shares_them_between_destinations_but_never_a_pair() {
    let mut sim = sim(49_152..=49_155);
    listen(&mut sim, &[9000, 9001]);
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let out = seen.clone();
    sim.client("client", async move {
        let _own = TcpListener::bind(("0.0.0.0", 49_155)).await?;
        let mut open = Vec::new();
        for port in [9000, 9000, 9000, 9000, 9001, 9001, 9001, 9001] {
            let line = match TcpStream::connect(("server", port)).await {
                Ok(stream) => {
                    let from = stream.local_addr()?.port();
                    open.push(stream);
                    format!("{port}: {from}")
                }
                Err(e) => format!("{port}: {:?}", e.kind()),
            };
            out.borrow_mut().push(line);
        }
        // The second connection to 9000 (port 49153) ends; 49153 is still
        // used towards 9001, so it is shared, not free.
        drop(open.remove(1));
        tokio::time::sleep(CLOSE_SEEN).await;
        let again = TcpStream::connect(("server", 9000)).await?;
        out.borrow_mut()
            .push(format!("9000 again: {}", again.local_addr()?.port()));
        Ok::<_, Box<dyn std::error::Error>>(())
    });
    sim.run().expect("the client runs to its end");
    let refused = format!("{:?}", io::ErrorKind::AddrNotAvailable);
    let want: Vec<String> = [
        "9000: 49152",
        "9000: 49153",
        "9000: 49154",
        &format!("9000: {refused}"),
        "9001: 49152",
        "9001: 49153",
        "9001: 49154",
        &format!("9001: {refused}"),
        "9000 again: 49153",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        seen.take(),
        want,
        "reproduce: cargo test --test world ports::a_host_out_of_ports"
    );
}
