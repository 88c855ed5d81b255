//! Blue/green by editing the routes file: the switch happens under load, without a restart
//! and without a failed request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use servicekit::testing::eventually;

use crate::helpers::{Upstream, Upstreams, echoed, gateway};

/// Replaces the file at once (write and rename), as a config management tool would.
fn write(path: &std::path::Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test]
async fn blue_green_switch_by_reload_under_load_drops_nothing() {
    let up = Upstreams::start().await;
    let green = Upstream::start("green").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("routes.toml");
    write(
        &file,
        "[routes]\n\"/students\" = \"student-service\"\n\"/subjects\" = \"subject-service\"\n",
    );
    let gw = gateway(&up, |b| {
        b.set("clients.student-service-green.base_url", &green.url)
            .set("app.routes_file", file.to_str().unwrap())
            .set("app.reload_interval", "50ms")
    })
    .await;
    assert_eq!(
        echoed(gw.get("/students").await).await["upstream"],
        "students"
    );

    // Load: eight clients in a loop, counting answers that are not 200.
    let stop = Arc::new(AtomicBool::new(false));
    let (sent, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = Vec::new();
    for _ in 0..8 {
        let (client, url) = (gw.client().clone(), gw.url("/students"));
        let (stop, sent, failed) = (stop.clone(), sent.clone(), failed.clone());
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                let ok = matches!(client.get(&url).send().await, Ok(r) if r.status() == 200);
                sent.fetch_add(1, Ordering::SeqCst);
                if !ok {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
            }
        }));
    }
    eventually(|| async { (up.students.hits() > 50).then_some(()).ok_or("warming up") }).await;

    write(
        &file,
        "[routes]\n\"/students\" = \"student-service-green\"\n\"/subjects\" = \"subject-service\"\n",
    );
    eventually(|| async { (green.hits() > 50).then_some(()).ok_or("not switched yet") }).await;
    // A broken file is ignored: the green table stays.
    write(&file, "[routes\n");
    let before = green.hits();
    eventually(|| async {
        (green.hits() > before + 50)
            .then_some(())
            .ok_or("green stopped")
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }

    assert_eq!(
        failed.load(Ordering::SeqCst),
        0,
        "of {}",
        sent.load(Ordering::SeqCst)
    );
    let blue_after = up.students.hits();
    assert_eq!(echoed(gw.get("/students").await).await["upstream"], "green");
    assert_eq!(
        up.students.hits(),
        blue_after,
        "blue gets nothing after the switch"
    );
}
