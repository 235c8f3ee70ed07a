//! The gateway bench's load generator (run by bench/gateway/gateway.ts, which builds it with
//! cargo): N WebSocket connections to the gateway on loopback, each sending JSON batches of
//! `batch` events and timing every ack.
//!
//! - Closed loop (`--rate 0`): each connection keeps `--window` batches in flight until
//!   `--seconds` are over; latency counts from the moment a batch is sent.
//! - Open loop (`--rate R`): R events/s over all connections, batch k of a connection due
//!   at k / pace (the connections staggered over one interval), never more than
//!   `--inflight` unanswered per connection; latency counts from the batch's due time, so
//!   a stall of the gateway (or of this generator) is not hidden by sending less.
//!
//! It is native so that the load costs the shared cores little CPU and its pacing adds
//! little delay of its own: a writer thread per connection sleeps until the next batch is
//! due, a reader thread per connection reads the acks. The figures go to stdout as one
//! JSON object; the bench turns the latencies into an HdrHistogram.
//!
//! The body of a batch is `{"id":"<connection>-<seq>","events":[{"user_id":…,"ts":…,
//! "amount":…,"sent_us":…}, …]}`; `sent_us` is the due (or send) time on the wall clock in
//! microseconds, from which the bench measures ingest → window state applied.
#![deny(clippy::all)]

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Spec {
    port: u16,
    connections: usize,
    batch: usize,
    window: usize,
    rate: f64,
    seconds: f64,
    inflight: usize,
}

fn parse_spec() -> Result<Spec, String> {
    let mut spec = Spec {
        port: 0,
        connections: 4,
        batch: 64,
        window: 64,
        rate: 0.0,
        seconds: 4.0,
        inflight: 256,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).ok_or(format!("{} needs a value", pair[0]))?;
        let number = |what: &str| {
            value
                .parse::<f64>()
                .map_err(|_| format!("{what}: not a number: {value}"))
        };
        match pair[0].as_str() {
            "--port" => spec.port = number("--port")? as u16,
            "--connections" => spec.connections = number("--connections")? as usize,
            "--batch" => spec.batch = number("--batch")? as usize,
            "--window" => spec.window = number("--window")? as usize,
            "--rate" => spec.rate = number("--rate")?,
            "--seconds" => spec.seconds = number("--seconds")?,
            "--inflight" => spec.inflight = number("--inflight")? as usize,
            other => return Err(format!("unknown option {other}")),
        }
    }
    if spec.port == 0 || spec.connections == 0 || spec.batch == 0 {
        return Err("--port, --connections and --batch must be positive".into());
    }
    Ok(spec)
}

/// What a connection's threads share: the batches awaiting their ack (seq → nanoseconds
/// from the start that its latency counts from), and whether the writer is done.
struct Pending {
    sent_at: HashMap<u64, u64>,
    done_sending: bool,
}

struct Connection {
    pending: Mutex<Pending>,
    /// Signalled when acks free room in the window (the writer waits on it).
    room: Condvar,
    /// The write half; the reader uses it too, to answer pings.
    writer: Mutex<TcpStream>,
}

#[derive(Default)]
struct Figures {
    events: u64,
    batches: u64,
    sent_batches: u64,
    refused: u64,
    unanswered: u64,
    latencies_us: Vec<u32>,
}

/// Opens a WebSocket at `/ws`; returns the stream and any frame bytes read past the handshake.
fn open(port: u16) -> Result<(TcpStream, Vec<u8>), String> {
    let mut stream =
        TcpStream::connect(("127.0.0.1", port)).map_err(|error| format!("connect: {error}"))?;
    stream
        .set_nodelay(true)
        .map_err(|error| error.to_string())?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: c2x1aWNlLWxvYWQtZ2VuLg==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|error| error.to_string())?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).map_err(|error| error.to_string())?;
        if read == 0 {
            return Err("the gateway closed the connection during the handshake".into());
        }
        received.extend_from_slice(&chunk[..read]);
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&received[..end]).to_string();
            if !head.starts_with("HTTP/1.1 101") {
                return Err(format!(
                    "upgrade refused: {}",
                    head.lines().next().unwrap_or("")
                ));
            }
            return Ok((stream, received[end + 4..].to_vec()));
        }
    }
}

/// Appends one client frame (masked, as a client must; the mask is zero, which leaves the
/// payload as it is).
fn push_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    let length = payload.len();
    if length < 126 {
        out.push(0x80 | length as u8);
    } else if length <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(length as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(length as u64).to_be_bytes());
    }
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(payload);
}

/// The next whole server frame in `buffer` from `at`: (opcode, payload range, end).
fn next_frame(buffer: &[u8], at: usize) -> Option<(u8, std::ops::Range<usize>, usize)> {
    let header = buffer.get(at..at + 2)?;
    let opcode = header[0] & 0x0f;
    let masked = header[1] & 0x80 != 0;
    let (length, mut start) = match header[1] & 0x7f {
        126 => (
            u16::from_be_bytes(buffer.get(at + 2..at + 4)?.try_into().ok()?) as usize,
            at + 4,
        ),
        127 => (
            u64::from_be_bytes(buffer.get(at + 2..at + 10)?.try_into().ok()?) as usize,
            at + 10,
        ),
        short => (short as usize, at + 2),
    };
    if masked {
        start += 4;
    }
    let end = start.checked_add(length)?;
    if end > buffer.len() {
        return None;
    }
    Some((opcode, start..end, end))
}

/// The text after `"<name>":"` up to the next quote.
fn string_field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("\"{name}\":\"");
    let start = text.find(&key)? + key.len();
    let end = text[start..].find('"')? + start;
    Some(&text[start..end])
}

fn number_field(text: &str, name: &str) -> Option<u64> {
    let key = format!("\"{name}\":");
    let start = text.find(&key)? + key.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The seq of a batch id `<connection>-<seq>`.
fn seq_of(id: &str) -> Option<u64> {
    id.rsplit('-').next()?.parse().ok()
}

struct Clock {
    start: Instant,
    /// The wall clock at `start`, in microseconds since the epoch.
    start_wall_us: u64,
}

impl Clock {
    fn nanos(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }
}

fn body(connection: usize, seq: u64, events: usize, sent_us: u64) -> String {
    let tail = format!(",\"ts\":{},\"amount\":", 1_767_225_600_000u64 + seq);
    let sent = format!(",\"sent_us\":{sent_us}}}");
    let mut text = format!("{{\"id\":\"{connection}-{seq}\",\"events\":[");
    for index in 0..events {
        if index > 0 {
            text.push(',');
        }
        let user = (seq as usize * 31 + index) % 10_000;
        text.push_str(&format!("{{\"user_id\":\"u{user}\"{tail}{index}{sent}"));
    }
    text.push_str("]}");
    text
}

/// Sends batches until the run is over, paced (open loop) or keeping the window full (closed
/// loop); stops at `give_up_ns` whatever is left. Returns the batches sent.
fn write_loop(
    spec: &Spec,
    clock: &Clock,
    connection: usize,
    shared: &Connection,
    give_up_ns: u64,
) -> u64 {
    let run_ns = (spec.seconds * 1e9) as u64;
    let open_loop = spec.rate > 0.0;
    // Open loop: batches per nanosecond per connection, and this connection's offset.
    let pace = spec.rate / spec.batch as f64 / spec.connections as f64 / 1e9;
    let total = if open_loop {
        (run_ns as f64 * pace).ceil() as u64
    } else {
        u64::MAX
    };
    let offset = if open_loop {
        connection as f64 / spec.connections as f64 / pace
    } else {
        0.0
    };
    let due = |seq: u64| (offset + seq as f64 / pace) as u64;
    let limit = if open_loop {
        spec.inflight
    } else {
        spec.window
    };
    let mut seq = 0u64;
    let mut out = Vec::new();
    loop {
        let now = clock.nanos();
        let over = now >= give_up_ns
            || if open_loop {
                seq >= total
            } else {
                now >= run_ns
            };
        out.clear();
        {
            let mut pending = shared.pending.lock().unwrap();
            if over {
                pending.done_sending = true;
                shared.room.notify_all();
                return seq;
            }
            while pending.sent_at.len() < limit && seq < total {
                let from = if open_loop { due(seq) } else { now };
                if from > now {
                    break;
                }
                let text = body(
                    connection,
                    seq,
                    spec.batch,
                    clock.start_wall_us + from / 1000,
                );
                push_frame(&mut out, 0x1, text.as_bytes());
                pending.sent_at.insert(seq, from);
                seq += 1;
            }
        }
        let failed = !out.is_empty() && shared.writer.lock().unwrap().write_all(&out).is_err();
        // Done as soon as the last batch is out, so the reader stops at its ack.
        if failed || (open_loop && seq >= total) {
            let mut pending = shared.pending.lock().unwrap();
            pending.done_sending = true;
            shared.room.notify_all();
            return seq;
        }
        let pending = shared.pending.lock().unwrap();
        let full = pending.sent_at.len() >= limit;
        if open_loop && !full {
            drop(pending);
            let next = due(seq);
            let now = clock.nanos();
            if next > now {
                thread::sleep(Duration::from_nanos(next - now));
            }
        } else if full {
            // Wait for an ack to free room, or for the end of the run. (Not full: fill again.)
            let wait = Duration::from_nanos(run_ns.saturating_sub(clock.nanos()).max(1_000_000));
            let _unused = shared.room.wait_timeout(pending, wait).unwrap();
        }
    }
}

/// Reads acks until every sent batch is answered after the writer is done, or `give_up_ns` passes.
fn read_loop(
    mut stream: TcpStream,
    mut buffer: Vec<u8>,
    clock: &Clock,
    shared: &Connection,
    give_up_ns: u64,
) -> Figures {
    let mut figures = Figures::default();
    let mut chunk = vec![0u8; 64 * 1024];
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    loop {
        let mut consumed = 0;
        let mut answered = false;
        while let Some((opcode, payload, end)) = next_frame(&buffer, consumed) {
            consumed = end;
            match opcode {
                0x1 | 0x2 => {
                    let text = String::from_utf8_lossy(&buffer[payload]);
                    let now = clock.nanos();
                    let ack = string_field(&text, "ack");
                    let id = ack.or_else(|| string_field(&text, "id"));
                    let from = id
                        .and_then(seq_of)
                        .and_then(|seq| shared.pending.lock().unwrap().sent_at.remove(&seq));
                    answered = true;
                    if ack.is_some() {
                        figures.events += number_field(&text, "count").unwrap_or(0);
                        figures.batches += 1;
                        if let Some(from) = from {
                            figures
                                .latencies_us
                                .push((now.saturating_sub(from) / 1000).max(1) as u32);
                        }
                    } else {
                        figures.refused += 1;
                    }
                }
                0x9 => {
                    let mut pong = Vec::new();
                    push_frame(&mut pong, 0xa, &buffer[payload]);
                    let _ignored = shared.writer.lock().unwrap().write_all(&pong);
                }
                0x8 => {
                    figures.unanswered = shared.pending.lock().unwrap().sent_at.len() as u64;
                    return figures;
                }
                _ => {}
            }
        }
        buffer.drain(..consumed);
        {
            let pending = shared.pending.lock().unwrap();
            if answered {
                shared.room.notify_all();
            }
            if pending.done_sending && pending.sent_at.is_empty() {
                return figures;
            }
            if clock.nanos() >= give_up_ns {
                figures.unanswered = pending.sent_at.len() as u64;
                return figures;
            }
        }
        match stream.read(&mut chunk) {
            Ok(0) => {
                figures.unanswered = shared.pending.lock().unwrap().sent_at.len() as u64;
                return figures;
            }
            Ok(read) => buffer.extend_from_slice(&chunk[..read]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => {
                figures.unanswered = shared.pending.lock().unwrap().sent_at.len() as u64;
                return figures;
            }
        }
    }
}

/// CPU time of this process (all threads), from /proc (clock ticks of 10 ms).
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |index: usize| {
        fields
            .get(index)
            .and_then(|field| field.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime: fields 14 and 15 of the line, 12 and 13 after the command's ')'.
    (ticks(11) + ticks(12)) * 10.0
}

fn main() {
    let spec = match parse_spec() {
        Ok(spec) => spec,
        Err(message) => {
            eprintln!("sluice-gateway-load: {message}");
            std::process::exit(2);
        }
    };
    let cpu_before = cpu_ms();
    // Every connection is open before the clock starts.
    let mut opened = Vec::new();
    for _ in 0..spec.connections {
        match open(spec.port) {
            Ok(pair) => opened.push(pair),
            Err(message) => {
                eprintln!("sluice-gateway-load: {message}");
                std::process::exit(1);
            }
        }
    }
    let spec = Arc::new(spec);
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let clock = Arc::new(Clock {
        start: Instant::now(),
        start_wall_us: wall.as_micros() as u64,
    });
    let give_up_ns = ((spec.seconds + 30.0) * 1e9) as u64;
    let mut threads = Vec::new();
    for (connection, (stream, leftover)) in opened.into_iter().enumerate() {
        let reader = stream.try_clone().expect("clone the connection's socket");
        let shared = Arc::new(Connection {
            pending: Mutex::new(Pending {
                sent_at: HashMap::new(),
                done_sending: false,
            }),
            room: Condvar::new(),
            writer: Mutex::new(stream),
        });
        let (spec_w, clock_w, shared_w) = (spec.clone(), clock.clone(), shared.clone());
        let writing =
            thread::spawn(move || write_loop(&spec_w, &clock_w, connection, &shared_w, give_up_ns));
        let (clock_r, shared_r) = (clock.clone(), shared.clone());
        let reading =
            thread::spawn(move || read_loop(reader, leftover, &clock_r, &shared_r, give_up_ns));
        threads.push((writing, reading, shared));
    }
    let mut total = Figures::default();
    for (writing, reading, shared) in threads {
        total.sent_batches += writing.join().expect("writer thread");
        let figures = reading.join().expect("reader thread");
        total.events += figures.events;
        total.batches += figures.batches;
        total.refused += figures.refused;
        total.unanswered += figures.unanswered;
        total.latencies_us.extend(figures.latencies_us);
        let mut writer = shared.writer.lock().unwrap();
        let mut close = Vec::new();
        push_frame(&mut close, 0x8, &1000u16.to_be_bytes());
        let _ignored = writer.write_all(&close);
        let _ignored = writer.shutdown(std::net::Shutdown::Both);
    }
    let elapsed_ms = clock.start.elapsed().as_secs_f64() * 1000.0;
    let latencies: Vec<String> = total.latencies_us.iter().map(u32::to_string).collect();
    println!(
        "{{\"events\":{},\"batches\":{},\"sentBatches\":{},\"elapsedMs\":{:.3},\"refused\":{},\"unanswered\":{},\"cpuMs\":{:.0},\"latenciesUs\":[{}]}}",
        total.events,
        total.batches,
        total.sent_batches,
        elapsed_ms,
        total.refused,
        total.unanswered,
        cpu_ms() - cpu_before,
        latencies.join(",")
    );
}
