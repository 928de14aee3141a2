use gardengate::{scenario, Simulation};
use std::sync::Arc;
fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let plan = scenario::from_text(&format!("steps = 365\n[consumers]\ncount = {n}\n"), "x.toml", std::path::Path::new(".")).unwrap();
    let sc = Arc::new(plan.points[0].scenario.clone());
    let t0 = std::time::Instant::now();
    let mut sim = Simulation::new(sc, plan.runs[0].seed).unwrap();
    let t1 = std::time::Instant::now();
    sim.run();
    let t2 = std::time::Instant::now();
    eprintln!("build {:?} run {:?} -> {:.1} M consumer-steps/s", t1 - t0, t2 - t1, (n * 365) as f64 / (t2 - t1).as_secs_f64() / 1e6);
    let df = gardengate::output::frame::run_frame(&sim).unwrap();
    println!("{}", df.select(["step","trips","outside","primary","secondary","adopted","abandoned","links_shared","links_open","links_blocked","links_token"]).unwrap().tail(Some(3)));
    println!("{}", df.select(["consumer_surplus","merchant_profit","platform_revenue","hhi_wallet","wallets_per_consumer","multihoming_share","apps_per_consumer","merchant_multihoming_share"]).unwrap().tail(Some(3)));
    let cols: Vec<String> = df.get_column_names().iter().filter(|c| c.starts_with("wallet_share") || c.starts_with("gmv_share_eco") || c.starts_with("listings__")).map(|s| s.to_string()).collect();
    println!("{}", df.select(cols).unwrap().tail(Some(2)));
}
