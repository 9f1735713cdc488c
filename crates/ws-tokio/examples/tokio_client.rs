//! Client on tokio: `tokio_client URL` sends each stdin line as a text message and prints what arrives.

use tokio::io::AsyncBufReadExt;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ws_tokio::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    let (ws, _) = ws_tokio::connect(&url).await?;
    let (mut reader, mut writer) = ws.split();
    let printer = tokio::spawn(async move {
        while let Some(message) = reader.recv().await {
            match message {
                Ok(m) => println!(
                    "< {}",
                    m.as_text()
                        .map_or_else(|| format!("{} bytes", m.len()), str::to_owned)
                ),
                Err(e) => eprintln!("error: {e}"),
            }
        }
    });
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        writer.send(line).await?;
    }
    writer.close(ws_tokio::CloseCode::NORMAL, "").await?;
    let _ = printer.await;
    Ok(())
}
