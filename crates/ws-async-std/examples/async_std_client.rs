//! Client on async-std: `async_std_client URL` sends one text message per argument after the URL and prints replies.

fn main() -> ws_async_std::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    async_std::task::block_on(async {
        let (mut ws, _) = ws_async_std::connect(&url).await?;
        for text in args {
            ws.send(text).await?;
            match ws.recv().await {
                Some(Ok(reply)) => println!("< {}", reply.as_text().unwrap_or("<binary>")),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        ws.close(ws_async_std::CloseCode::NORMAL, "").await
    })
}
