//! Autobahn client: `std_autobahn_client --url ws://127.0.0.1:PORT --agent NAME` asks the fuzzing server for
//! the case count, runs every case, two at a time (echoing each message back until the connection ends),
//! and asks it to write the reports.

use ws_std::{ClientBuilder, Limits};

fn main() {
    let (mut url, mut agent) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--url" => url = args.next(),
            "--agent" => agent = args.next(),
            _ => usage(),
        }
    }
    let (Some(url), Some(agent)) = (url, agent) else {
        usage()
    };
    let url = url.trim_end_matches('/');

    let count = case_count(url).unwrap_or_else(|e| {
        eprintln!("getCaseCount failed: {e}");
        std::process::exit(1);
    });
    eprintln!("running {count} cases");
    // Two cases at a time (odd and even numbers, each in order), as `ws_testkit::autobahn_client` does.
    std::thread::scope(|scope| {
        for first in [1, 2] {
            let (url, agent) = (&url, &agent);
            scope.spawn(move || {
                for case in (first..=count).step_by(2) {
                    run_case(&format!("{url}/runCase?case={case}&agent={agent}"));
                }
            });
        }
    });
    if let Err(e) = builder(&format!("{url}/updateReports?agent={agent}"))
        .and_then(|b| ws_std::connect_with(&b))
        .and_then(|(mut ws, _)| ws.close(ws_std::CloseCode::NORMAL, ""))
    {
        eprintln!("updateReports: {e}");
    }
}

fn builder(url: &str) -> ws_std::Result<ClientBuilder> {
    // Only the limits change: the rest of the builder's default configuration (extensions included) stays.
    let limits = Limits::default()
        .max_frame_size(64 << 20)
        .max_message_size(64 << 20);
    Ok(ClientBuilder::new(url)?.limits(limits))
}

fn case_count(url: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let (mut ws, _) = ws_std::connect_with(&builder(&format!("{url}/getCaseCount"))?)?;
    let message = ws.recv().ok_or("no message")??;
    let count = message.as_text().ok_or("not text")?.trim().parse()?;
    let _ = ws.close(ws_std::CloseCode::NORMAL, "");
    Ok(count)
}

fn run_case(url: &str) {
    let (mut ws, _) = match builder(url).and_then(|b| ws_std::connect_with(&b)) {
        Ok(connected) => connected,
        Err(e) => return eprintln!("{url}: {e}"),
    };
    // Echo every text and binary message back as the same type; any error just ends the case.
    while let Some(Ok(message)) = ws.recv() {
        if ws.send(message).is_err() {
            break;
        }
    }
}

fn usage() -> ! {
    eprintln!("usage: std_autobahn_client --url ws://127.0.0.1:PORT --agent NAME");
    std::process::exit(2)
}
