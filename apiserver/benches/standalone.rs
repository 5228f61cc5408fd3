//! Benchmarks of `porch standalone` (run with `cargo bench -p porch-apiserver`):
//! cold start to `ready`, create throughput with 20 concurrent clients, list of 10,000
//! objects, and watch latency from write to event. Prints one line per figure.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use porch_apiserver::{ServerOptions, start};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn cm(name: &str) -> ConfigMap {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"bench": "true"}},
        "data": {"key": "value", "other": "x".repeat(200)}
    }))
    .unwrap()
}

fn cold_start() {
    let mut fresh = Vec::new();
    let mut warm = Vec::new();
    for i in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        for (round, out) in [(0, &mut fresh), (1, &mut warm)] {
            let t0 = Instant::now();
            let mut child = Command::new(env!("CARGO_BIN_EXE_porch-standalone-dev"))
                .args([
                    "--data-dir",
                    dir.path().to_str().unwrap(),
                    "--listen",
                    "127.0.0.1:0",
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let line = BufReader::new(child.stdout.take().unwrap())
                .lines()
                .next()
                .unwrap()
                .unwrap();
            assert!(line.contains("ready"));
            out.push(t0.elapsed());
            child.kill().unwrap();
            child.wait().unwrap();
            let _ = (i, round);
        }
    }
    let avg = |v: &[Duration]| v.iter().sum::<Duration>() / v.len() as u32;
    println!(
        "cold start to ready (process spawn -> ready line): first start {:?} avg, restart {:?} avg (5 runs each)",
        avg(&fresh),
        avg(&warm)
    );
}

async fn throughput_list_watch() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ServerOptions::new(
        dir.path(),
        "127.0.0.1:0".parse().unwrap(),
    ))
    .await
    .unwrap();
    let client = server.client().await.unwrap();
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());

    // Create throughput: 20 concurrent clients (own connections), 10,000 objects in total.
    let total = 10_000usize;
    let clients = 20usize;
    let mut handles = Vec::new();
    let t0 = Instant::now();
    for c in 0..clients {
        let client = server.client().await.unwrap();
        handles.push(tokio::spawn(async move {
            let api: Api<ConfigMap> = Api::default_namespaced(client);
            for i in 0..total / clients {
                api.create(&PostParams::default(), &cm(&format!("c{c}-{i}")))
                    .await
                    .unwrap();
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let el = t0.elapsed();
    println!(
        "create throughput: {total} creates by {clients} concurrent clients over HTTPS in {el:?} = {:.0} creates/s",
        total as f64 / el.as_secs_f64()
    );

    // List of 10,000 objects (JSON, one request, no limit), best and average of 10.
    let mut times = Vec::new();
    for _ in 0..10 {
        let t = Instant::now();
        let l = api.list(&ListParams::default()).await.unwrap();
        assert_eq!(l.items.len(), total);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "list of {total} ConfigMaps (kube client, decode included): min {:?}, median {:?}",
        times[0],
        times[times.len() / 2]
    );
    let http = reqwest_like_list(&server).await;
    println!("list of {total} ConfigMaps (raw bytes over HTTPS, no decode): median {http:?}");

    // Watch latency: request sent -> event received, 300 sequential writes.
    let mut stream = api
        .watch(&WatchParams::default(), "0")
        .await
        .unwrap()
        .boxed();
    // Drain the initial ADDED events of the existing objects.
    let current = api
        .list(&ListParams::default().limit(1))
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    drop(stream);
    stream = api
        .watch(&WatchParams::default(), &current)
        .await
        .unwrap()
        .boxed();
    let mut lat = Vec::new();
    for i in 0..300 {
        let t = Instant::now();
        api.create(&PostParams::default(), &cm(&format!("w{i}")))
            .await
            .unwrap();
        loop {
            match stream.try_next().await.unwrap() {
                Some(WatchEvent::Added(o))
                    if o.metadata.name.as_deref() == Some(&format!("w{i}")) =>
                {
                    break;
                }
                Some(_) => continue,
                None => panic!("watch ended"),
            }
        }
        lat.push(t.elapsed());
    }
    lat.sort();
    println!(
        "watch latency (create sent -> ADDED received, includes the durable commit): p50 {:?}, p99 {:?}, max {:?}",
        lat[lat.len() / 2],
        lat[lat.len() * 99 / 100],
        lat[lat.len() - 1]
    );
    server.stop().await;
}

async fn reqwest_like_list(server: &porch_apiserver::RunningServer) -> Duration {
    let client = server.client().await.unwrap();
    let mut times = Vec::new();
    for _ in 0..10 {
        let req = http::Request::get("/api/v1/namespaces/default/configmaps")
            .body(Vec::new())
            .unwrap();
        let t = Instant::now();
        let text = client.request_text(req).await.unwrap();
        assert!(text.len() > 1_000_000);
        times.push(t.elapsed());
    }
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    cold_start();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(throughput_list_watch());
}
