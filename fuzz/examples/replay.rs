//! Replays inputs outside libFuzzer, with a readable panic: `cargo run --example replay -- TARGET FILE...`
//! (`WS_FUZZ_DEBUG=1` prints the events of the connection targets).

fn main() {
    let mut args = std::env::args().skip(1);
    let target = args.next().expect("usage: replay TARGET FILE...");
    for file in args {
        let data = std::fs::read(&file).expect("readable input");
        eprintln!("== {target} {file} ({} bytes)", data.len());
        ws_fuzz::run_target(&target, &data);
    }
}
