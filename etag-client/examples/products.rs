//! Start the example app (`cargo run --release -p etag-examples --bin products`), then run
//! this: `cargo run -p etag-client --example products` (`BASE=http://host:port` to change
//! the address). Run it twice: the second time, product 42 exists already.

use etag_client::{Client, CreateOutcome, Source};
use serde::{Deserialize, Serialize};

/// The fields of a product this program uses; the others (`id`, `version`, `updated_at`)
/// are the server's and are ignored.
#[derive(Debug, Serialize, Deserialize)]
struct Product {
    name: String,
    price: f64,
}

/// Creates, reads twice and updates product 42 on the server at `base` (the client's tests
/// run this against the real binary).
pub(crate) async fn run(base: &str) -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::new(etag_client::reqwest::Client::new());
    let url = format!("{base}/products/42");

    // 1. Create product 42 unless it exists (PUT with If-None-Match: *).
    let lamp = Product {
        name: "Desk Lamp".into(),
        price: 12.5,
    };
    match client.create(&url, &lamp).send().await? {
        CreateOutcome::Created(_) => println!("created {url}"),
        CreateOutcome::AlreadyExists => println!("{url} exists already"),
        _ => {}
    }

    // 2. Read it twice. The second read sends If-None-Match with the stored ETag; the
    //    server answers 304 and the client hands back its stored copy.
    let first = client.get(&url).send().await?;
    let again = client.get(&url).send().await?;
    // This assumes nothing wrote product 42 between the two reads. Had another writer
    // changed it, the server would answer 200 with the new version: `again.source()` would
    // be `Source::Network` and its body the new one. (`Source::Stored`, no request at all,
    // is for a copy still fresh by its `max-age`; this server sends `no-cache`.)
    assert_eq!(again.source(), Source::Revalidated);
    assert_eq!(again.bytes(), first.bytes());
    println!("read: {:?}, then {:?}", first.source(), again.source());

    // 3. Raise the price with If-Match. Had someone else changed the product since it was
    //    read, the server would answer 412, and the client would read it again and
    //    re-apply the change.
    let written = client
        .update(&url, |mut product: Product| {
            product.price += 1.0;
            product
        })
        .send()
        .await?;
    let product: Product = written.json()?;
    let etag = written.headers()["etag"].to_str()?;
    println!("{} now costs {} (ETag {etag})", product.name, product.price);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var("BASE").unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
    run(&base).await
}
