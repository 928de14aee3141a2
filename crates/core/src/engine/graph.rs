//! The social graph in compressed sparse row form, and its generators.
//!
//! Every generator emits edges from keyed random streams in fixed-size chunks, so the graph
//! is the same for any thread count. The CSR is built in two passes over the generated edges
//! (count degrees, then fill), each row is then sorted and de-duplicated, which also erases
//! the order in which the parallel parts filled it.

use super::rng::{Purpose, Stream};
use rayon::prelude::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// Fixed unit of parallel work for generation (never derived from the thread count).
const GEN_CHUNK: u64 = 1 << 14;

/// Undirected graph without self-loops or duplicate edges; each edge is stored in both rows.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    /// Row starts, length n + 1.
    pub offsets: Vec<u64>,
    /// Concatenated sorted neighbour lists.
    pub neighbors: Vec<u32>,
}

impl Graph {
    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
    /// True when there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Neighbours of node i.
    #[inline]
    pub fn friends(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.neighbors[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
    /// Realised mean degree.
    pub fn mean_degree(&self) -> f64 {
        self.neighbors.len() as f64 / self.len().max(1) as f64
    }
    /// Number of undirected edges.
    pub fn edges(&self) -> u64 {
        self.neighbors.len() as u64 / 2
    }
    /// Share of edges whose ends share a label (e.g. a community).
    pub fn share_inside(&self, label: &[u32]) -> f64 {
        let inside: u64 = (0..self.len() as u32)
            .into_par_iter()
            .map(|i| {
                self.friends(i)
                    .iter()
                    .filter(|&&j| label[j as usize] == label[i as usize])
                    .count() as u64
            })
            .sum();
        inside as f64 / self.neighbors.len().max(1) as f64
    }
    /// Heap bytes used.
    pub fn bytes(&self) -> usize {
        self.offsets.len() * 8 + self.neighbors.len() * 4
    }
}

/// Most parts `build_csr` splits the edges into (each costs 4 bytes per node while the
/// graph is built).
pub const MAX_PARTS: usize = 4;

/// Most edges a part of `build_csr` keeps from its counting pass (8 bytes each: 2 MiB).
const KEPT_EDGES: usize = 1 << 18;

/// Builds a CSR graph from a deterministic edge source. `emit(chunk, sink)` must emit the
/// same edges for the same chunk every time it is called (it is called once to count, and
/// for a large graph once more to fill; a small graph's edges are kept from the first call).
/// The contract is checked: a source that emits different edges the second time panics here
/// instead of writing outside its segment (the writes are bounds-checked relaxed atomic
/// stores, so even then nothing unsound happens).
pub(crate) fn build_csr<F>(n: u32, chunks: u64, emit: F) -> Graph
where
    F: Fn(u64, &mut dyn FnMut(u32, u32)) + Sync,
{
    build_csr_keeping(n, chunks, KEPT_EDGES, emit)
}

/// [`build_csr`], each part keeping at most `keep` edges from its counting pass.
fn build_csr_keeping<F>(n: u32, chunks: u64, keep: usize, emit: F) -> Graph
where
    F: Fn(u64, &mut dyn FnMut(u32, u32)) + Sync,
{
    let n_us = n as usize;
    // Part p emits the chunks c ≡ p (mod parts), counting into its own degree array and then
    // filling its own segment of every row: no atomics (a locked add per endpoint, most of
    // them cache misses, dominated the build). The number of parts follows the thread count,
    // which cannot change the graph: each row is sorted and de-duplicated below.
    let parts = rayon::current_num_threads().clamp(1, MAX_PARTS);
    let emit_part = |p: usize, sink: &mut dyn FnMut(u32, u32)| {
        let mut c = p as u64;
        while c < chunks {
            emit(c, sink);
            c += parts as u64;
        }
    };
    // A part of a small graph also keeps its edges, so that the fill pass reads them back
    // instead of generating them again (for a design's thousands of small worlds, generation
    // twice was half of building the graph). A large graph's part stops keeping at
    // `KEPT_EDGES` and is generated again: the same edges either way.
    type Counted = (Vec<u32>, u64, Option<Vec<(u32, u32)>>);
    let counted: Vec<Counted> = (0..parts)
        .into_par_iter()
        .map(|p| {
            let mut d = vec![0u32; n_us];
            let mut k = 0u64;
            let mut kept = Some(Vec::new());
            emit_part(p, &mut |a, b| {
                if a != b {
                    d[a as usize] += 1;
                    d[b as usize] += 1;
                    k += 1;
                    if let Some(v) = &mut kept {
                        if v.len() < keep {
                            v.push((a, b));
                        } else {
                            kept = None;
                        }
                    }
                }
            });
            (d, k, kept)
        })
        .collect();
    let mut cursors = Vec::with_capacity(parts);
    let mut kept_edges = Vec::with_capacity(parts);
    let mut counted_edges = Vec::with_capacity(parts);
    for (d, k, kept) in counted {
        cursors.push(d);
        counted_edges.push(k);
        kept_edges.push(kept);
    }
    // Row starts, and each part's degree turned into its segment's start within the row.
    let mut offsets = Vec::with_capacity(n_us + 1);
    let mut acc = 0u64;
    offsets.push(0);
    for i in 0..n_us {
        let mut within = 0u32;
        for d in cursors.iter_mut() {
            let k = d[i];
            d[i] = within;
            within += k;
        }
        acc += within as u64;
        offsets.push(acc);
    }
    let mut neighbors = vec![0u32; acc as usize];
    {
        let slots = as_atomic(&mut neighbors);
        let filled: Vec<u64> = cursors
            .par_iter_mut()
            .enumerate()
            .map(|(p, cur)| {
                let mut k = 0u64;
                let mut fill = |a: u32, b: u32| {
                    if a != b {
                        let (a, b) = (a as usize, b as usize);
                        let ia = offsets[a] as usize + cur[a] as usize;
                        let ib = offsets[b] as usize + cur[b] as usize;
                        // Part p's cursor of a row runs over its own segment of that row (the
                        // parts' counts laid end to end) when both passes emit the same edges.
                        assert!(
                            (ia as u64) < offsets[a + 1] && (ib as u64) < offsets[b + 1],
                            "build_csr: the edge source emitted more edges the second time"
                        );
                        cur[a] += 1;
                        cur[b] += 1;
                        slots[ia].store(b as u32, Ordering::Relaxed);
                        slots[ib].store(a as u32, Ordering::Relaxed);
                        k += 1;
                    }
                };
                match &kept_edges[p] {
                    Some(edges) => edges.iter().for_each(|&(a, b)| fill(a, b)),
                    None => emit_part(p, &mut fill),
                }
                k
            })
            .collect();
        assert_eq!(
            filled, counted_edges,
            "build_csr: the edge source emitted different edges when called again"
        );
    }
    drop(cursors);
    drop(kept_edges);
    // Sort and de-duplicate each row in parallel, then compact.
    let new_len: Vec<u64> = {
        let base = SharedSlice(neighbors.as_mut_ptr());
        (0..n_us)
            .into_par_iter()
            .map(|i| {
                let (s, e) = (offsets[i] as usize, offsets[i + 1] as usize);
                // SAFETY: rows are disjoint ranges of `neighbors` (offsets are increasing and
                // computed here, whatever the edge source did), one task per row.
                let row = unsafe { base.slice(s, e - s) };
                row.sort_unstable();
                let mut k = 0;
                for j in 0..row.len() {
                    if j == 0 || row[j] != row[j - 1] {
                        row[k] = row[j];
                        k += 1;
                    }
                }
                k as u64
            })
            .collect()
    };
    let mut w = 0usize;
    let mut new_offsets = Vec::with_capacity(n_us + 1);
    new_offsets.push(0u64);
    for i in 0..n_us {
        let s = offsets[i] as usize;
        let k = new_len[i] as usize;
        neighbors.copy_within(s..s + k, w);
        w += k;
        new_offsets.push(w as u64);
    }
    neighbors.truncate(w);
    neighbors.shrink_to_fit();
    Graph {
        offsets: new_offsets,
        neighbors,
    }
}

/// The slice as atomics, so that the parts can fill it from several threads without unsafe
/// writes (a relaxed store is a plain store on the targets we build for).
fn as_atomic(xs: &mut [u32]) -> &[AtomicU32] {
    // SAFETY: `AtomicU32` has the same size, alignment and bit validity as `u32` (documented
    // in std), and the exclusive borrow of `xs` outlives the returned shared slice, so no
    // non-atomic access can overlap the atomic ones.
    unsafe { &*(xs as *mut [u32] as *const [AtomicU32]) }
}

/// A raw view of a slice that hands out disjoint rows to parallel tasks.
struct SharedSlice(*mut u32);
// SAFETY: the pointer is only used to build slices of disjoint rows (see `slice`), each used by
// one task; the owner of the buffer outlives the parallel loop that uses it.
unsafe impl Sync for SharedSlice {}
// SAFETY: as for `Sync`: moving the view to another thread moves no data.
unsafe impl Send for SharedSlice {}
impl SharedSlice {
    /// # Safety
    /// `start..start + len` must lie inside the buffer and no other live slice may overlap it.
    #[allow(clippy::mut_from_ref)]
    unsafe fn slice(&self, start: usize, len: usize) -> &mut [u32] {
        // SAFETY: the caller's contract above.
        unsafe { std::slice::from_raw_parts_mut(self.0.add(start), len) }
    }
}

/// Watts–Strogatz small world: a ring where each node links to its d/2 nearest successors;
/// each such edge's far end is rewired with probability `rewire` to a uniform random node
/// other than itself. Duplicates that rewiring creates are removed (rare: about d²·rewire
/// edges in all), so the realised mean degree is d up to that.
pub fn small_world(n: u32, mean_degree: u32, rewire: f64, seed: u64) -> Graph {
    let k = (mean_degree / 2).max(1);
    let chunks = (n as u64).div_ceil(GEN_CHUNK);
    build_csr(n, chunks, |c, sink| {
        let lo = c * GEN_CHUNK;
        let hi = ((c + 1) * GEN_CHUNK).min(n as u64);
        for i in lo..hi {
            let mut s = Stream::new(seed, Purpose::Graph, 0, i);
            for j in 1..=k as u64 {
                let mut t = ((i + j) % n as u64) as u32;
                if s.bernoulli(rewire) && n > 1 {
                    loop {
                        let r = s.below(n);
                        if r as u64 != i {
                            t = r;
                            break;
                        }
                    }
                }
                sink(i as u32, t);
            }
        }
    })
}

/// Community order with homophily: a permutation of consumers such that consecutive blocks
/// of `size` form the communities.
///
/// Each consumer gets a sort key: with probability `homophily` her home ecosystem, otherwise an
/// ecosystem drawn from `eco_shares`; consumers are sorted by (key, random tie-break). With
/// homophily 1 a community holds one ecosystem's consumers; with 0 communities mix at
/// population shares. The world relabels consumers in this order, so that a community is a
/// contiguous range of ids and friends sit close together in memory.
pub fn community_order(home: &[u8], homophily: f64, eco_shares: &[f64], seed: u64) -> Vec<u32> {
    let mut keyed: Vec<(u8, u64, u32)> = (0..home.len() as u32)
        .into_par_iter()
        .map(|i| {
            let mut s = Stream::new(seed, Purpose::Community, 0, i as u64);
            let eco = if s.bernoulli(homophily) {
                home[i as usize]
            } else {
                let u = s.uniform();
                let mut acc = 0.0;
                let mut e = eco_shares.len() - 1;
                for (k, sh) in eco_shares.iter().enumerate() {
                    acc += sh;
                    if u < acc {
                        e = k;
                        break;
                    }
                }
                e as u8
            };
            (eco, s.next_u64(), i)
        })
        .collect();
    keyed.par_sort_unstable();
    keyed.into_iter().map(|k| k.2).collect()
}

/// Planted-partition ties on contiguous communities: community c is ids
/// [c·size, (c+1)·size). Community c of s members gets exactly round(s·d·inside/2) distinct
/// inside edges drawn uniformly among its pairs; round(n·d·(1−inside)/2) outside edges join
/// uniform random pairs in different communities. So the realised mean degree and inside
/// share match the parameters up to rounding and the (negligible) duplicate outside pairs.
pub fn planted_partition(
    n: u32,
    mean_degree: f64,
    size: u32,
    inside_share: f64,
    seed: u64,
) -> Graph {
    let size = size.max(2).min(n.max(2));
    let n_comm = n.div_ceil(size);
    let d_in = mean_degree * inside_share;
    let d_out = mean_degree * (1.0 - inside_share);
    let m_out = (n as f64 * d_out / 2.0).round() as u64;
    let out_chunks = m_out.div_ceil(GEN_CHUNK);
    let total_chunks = n_comm as u64 + out_chunks;
    build_csr(n, total_chunks, |c, sink| {
        if c < n_comm as u64 {
            let lo = c as u32 * size;
            let hi = (lo + size).min(n);
            let s_len = (hi - lo) as u64;
            let pairs = s_len * (s_len - 1) / 2;
            let m_c = ((s_len as f64 * d_in / 2.0).round() as u64).min(pairs);
            if m_c == 0 {
                return;
            }
            let mut seen = vec![0u64; (pairs as usize).div_ceil(64)];
            let mut st = Stream::new(seed, Purpose::Graph, 1, c);
            let mut made = 0;
            while made < m_c {
                let a = st.below(s_len as u32) as u64;
                let b = st.below(s_len as u32) as u64;
                if a == b {
                    continue;
                }
                let (x, y) = if a < b { (a, b) } else { (b, a) };
                let idx = (y * (y - 1) / 2 + x) as usize;
                if seen[idx / 64] & (1 << (idx % 64)) != 0 {
                    continue;
                }
                seen[idx / 64] |= 1 << (idx % 64);
                sink(lo + x as u32, lo + y as u32);
                made += 1;
            }
        } else {
            let oc = c - n_comm as u64;
            let lo = oc * GEN_CHUNK;
            let hi = ((oc + 1) * GEN_CHUNK).min(m_out);
            if n_comm < 2 {
                return;
            }
            let mut st = Stream::new(seed, Purpose::Graph, 2, oc);
            for _ in lo..hi {
                loop {
                    let a = st.below(n);
                    let b = st.below(n);
                    if a / size != b / size {
                        sink(a, b);
                        break;
                    }
                }
            }
        }
    })
}

/// Planted-partition communities with homophily over consumers in their original order:
/// `community_order` then `planted_partition`, with the graph mapped back to the original
/// ids. Returns the graph and each node's community. (The world itself relabels consumers
/// instead of mapping back; this form is for analysis and tests.)
#[allow(clippy::too_many_arguments)]
pub fn communities(
    n: u32,
    mean_degree: f64,
    size: u32,
    inside_share: f64,
    homophily: f64,
    home: &[u8],
    eco_shares: &[f64],
    seed: u64,
) -> (Graph, Vec<u32>) {
    let order = community_order(home, homophily, eco_shares, seed);
    let g = planted_partition(n, mean_degree, size, inside_share, seed);
    let size = size.max(2).min(n.max(2));
    let mut comm = vec![0u32; n as usize];
    for (pos, &m) in order.iter().enumerate() {
        comm[m as usize] = pos as u32 / size;
    }
    let g = build_csr(n, (n as u64).div_ceil(GEN_CHUNK), |c, sink| {
        let lo = (c * GEN_CHUNK) as u32;
        let hi = ((c + 1) * GEN_CHUNK).min(n as u64) as u32;
        for pos in lo..hi {
            for &q in g.friends(pos) {
                if q > pos {
                    sink(order[pos as usize], order[q as usize]);
                }
            }
        }
    });
    (g, comm)
}

/// The graph of an edge list read when the scenario was loaded (`scenario::edges`; the
/// engine reads no files). Self-loops and repeated pairs are dropped.
pub fn edge_list(data: &crate::scenario::EdgeData, n: u32) -> Result<Graph, String> {
    let pairs = data.pairs();
    if let Some(&(a, b)) = pairs.iter().find(|&&(a, b)| a >= n || b >= n) {
        return Err(format!(
            "{}: node id {} is out of range: the scenario has {n} consumers (ids 0..{})",
            data.path().display(),
            a.max(b),
            n.saturating_sub(1)
        ));
    }
    let chunks = (pairs.len() as u64).div_ceil(GEN_CHUNK);
    Ok(build_csr(n, chunks, |c, sink| {
        let lo = (c * GEN_CHUNK) as usize;
        let hi = ((c + 1) * GEN_CHUNK).min(pairs.len() as u64) as usize;
        for &(a, b) in &pairs[lo..hi] {
            sink(a, b);
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_simple(g: &Graph) {
        for i in 0..g.len() as u32 {
            let f = g.friends(i);
            assert!(!f.contains(&i), "self-loop at {i}");
            assert!(
                f.windows(2).all(|w| w[0] < w[1]),
                "duplicate or unsorted row {i}"
            );
            for &j in f {
                assert!(
                    g.friends(j).binary_search(&i).is_ok(),
                    "asymmetric edge {i}-{j}"
                );
            }
        }
    }

    #[test]
    fn kept_and_regenerated_edges_give_the_same_graph() {
        let (n, size) = (5_000u32, 100u32);
        let emit = |c: u64, sink: &mut dyn FnMut(u32, u32)| {
            let mut st = Stream::new(4, Purpose::Graph, 9, c);
            for _ in 0..3_000 {
                let a = st.below(n);
                sink(a, (a / size) * size + st.below(size));
            }
        };
        let kept = build_csr_keeping(n, 8, KEPT_EDGES, emit);
        check_simple(&kept);
        assert!(kept.edges() > 20_000, "{}", kept.edges());
        // Parts that keep nothing, or stop keeping halfway, generate their edges again.
        for keep in [0, 1_000] {
            let g = build_csr_keeping(n, 8, keep, emit);
            assert_eq!(g.offsets, kept.offsets, "keep {keep}");
            assert_eq!(g.neighbors, kept.neighbors, "keep {keep}");
        }
    }

    #[test]
    fn small_world_degree_within_one_percent() {
        let g = small_world(20_000, 20, 0.1, 3);
        check_simple(&g);
        assert!(
            (g.mean_degree() - 20.0).abs() / 20.0 < 0.01,
            "{}",
            g.mean_degree()
        );
        assert_eq!(small_world(20_000, 20, 0.1, 3).neighbors, g.neighbors);
    }

    #[test]
    fn communities_degree_and_inside_share() {
        let n = 20_000;
        let home: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
        let (g, comm) = communities(n, 20.0, 100, 0.8, 0.7, &home, &[0.45, 0.4, 0.15], 9);
        check_simple(&g);
        assert!(
            (g.mean_degree() - 20.0).abs() / 20.0 < 0.01,
            "{}",
            g.mean_degree()
        );
        let inside = g.share_inside(&comm);
        assert!((inside - 0.8).abs() / 0.8 < 0.01, "{inside}");
        // Homophily: ties within an ecosystem far above the 1/3 of random mixing (homes are
        // uniform here); with homophily 0 they are at random mixing (±4 standard errors).
        let same: Vec<u32> = home.iter().map(|&h| h as u32).collect();
        let with = g.share_inside(&same);
        assert!(with > 0.5, "{with}");
        let (g0, _) = communities(n, 20.0, 100, 0.8, 0.0, &home, &[0.45, 0.4, 0.15], 9);
        let without = g0.share_inside(&same);
        let se = (1.0 / 3.0 * 2.0 / 3.0 / g0.edges() as f64).sqrt();
        assert!(
            (without - 1.0 / 3.0).abs() < 4.0 * se,
            "{without} vs 1/3 ± {se}"
        );
    }

    #[test]
    fn csr_is_independent_of_thread_count() {
        let home: Vec<u8> = (0..5000).map(|i| (i % 2) as u8).collect();
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| {
                    let g = communities(5000, 12.0, 50, 0.7, 0.5, &home, &[0.5, 0.5], 1).0;
                    (g.offsets, g.neighbors)
                })
        };
        // 1 to MAX_PARTS parts and more threads than parts.
        let one = run(1);
        for threads in [2, 3, 8] {
            assert!(one == run(threads), "{threads} threads");
        }
    }

    #[test]
    fn edge_list_reads_parquet() {
        use polars::prelude::*;
        let dir = std::env::temp_dir().join(format!("gg-edges-pq-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("e.parquet");
        let mut df = df!("source" => [0u32, 1, 2, 3, 3], "target" => [1u32, 2, 0, 3, 0]).unwrap();
        ParquetWriter::new(std::fs::File::create(&p).unwrap())
            .finish(&mut df)
            .unwrap();
        let data = crate::scenario::EdgeData::read(&p).unwrap();
        let g = edge_list(&data, 5).unwrap();
        check_simple(&g);
        assert_eq!(g.edges(), 4, "the self-loop 3–3 is dropped");
        assert_eq!(g.friends(0), &[1, 2, 3]);
        let e = edge_list(&data, 3).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
    }

    #[test]
    fn edge_list_errors_name_the_line() {
        let dir = std::env::temp_dir().join(format!("gg-edges-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("e.csv");
        std::fs::write(&p, "source,target\n0,1\n1,2\n2,x\n").unwrap();
        let e = crate::scenario::EdgeData::read(&p).unwrap_err();
        assert!(e.contains("e.csv:4"), "{e}");
        std::fs::write(&p, "0,1\n1,2\n2,2\n1,0\n3,99\n").unwrap();
        let e = edge_list(&crate::scenario::EdgeData::read(&p).unwrap(), 10).unwrap_err();
        assert!(e.contains("e.csv") && e.contains("99"), "{e}");
        std::fs::write(&p, "# comment\n0,1\n1,2\n2,2\n1,0\n").unwrap();
        let g = edge_list(&crate::scenario::EdgeData::read(&p).unwrap(), 4).unwrap();
        assert_eq!(g.edges(), 2);
        check_simple(&g);
    }
}
