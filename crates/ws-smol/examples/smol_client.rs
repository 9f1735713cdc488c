//! Client on smol: `smol_client URL` sends one text message per argument after the URL and prints replies.

fn main() -> ws_smol::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args.next().unwrap_or_else(|| "ws://127.0.0.1:9001/".into());
    smol::block_on(async {
        let (mut ws, _) = ws_smol::connect(&url).await?;
        for text in args {
            ws.send(text).await?;
            match ws.recv().await {
                Some(Ok(reply)) => println!("< {}", reply.as_text().unwrap_or("<binary>")),
                Some(Err(e)) => return Err(e),
                None => break,
            }
        }
        ws.close(ws_smol::CloseCode::NORMAL, "").await
    })
}
