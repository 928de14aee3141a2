//! Malformed scenarios must fail to load with an error that names the file, the line and the
//! key, says what was expected and, where it can, suggests a fix. No input may panic.

use gardengate::scenario::{from_text, Plan, ScenarioError};
use std::collections::HashSet;
use std::path::Path;

const FILE: &str = "bad.toml";

/// One malformed scenario and what its error must say.
struct Case {
    /// What is wrong (for failure messages).
    name: &'static str,
    /// The scenario text.
    text: &'static str,
    /// 1-based line of the offending key.
    line: usize,
    /// The key as the error names it.
    key: &'static str,
    /// Fragments the problem's message must contain (what was expected).
    expect: &'static [&'static str],
    /// Fragment of the `help:` line, where a suggestion applies.
    help: Option<&'static str>,
}

/// Two ecosystems, their platforms and wallets, written out in full so that a case can break
/// one of them (lines 1–33; the case text follows on line 34).
macro_rules! world {
    ($rest:literal) => {
        concat!(
            "steps = 100\n",                        // 1
            "\n",                                   // 2
            "[[ecosystems]]\n",                     // 3
            "name = \"ali\"\n",                     // 4
            "population_share = 0.5\n",             // 5
            "main_marketplace = \"taobao\"\n",      // 6
            "\n",                                   // 7
            "[[ecosystems]]\n",                     // 8
            "name = \"tencent\"\n",                 // 9
            "population_share = 0.5\n",             // 10
            "\n",                                   // 11
            "[[platforms]]\n",                      // 12
            "name = \"taobao\"\n",                  // 13
            "owner = \"ali\"\n",                    // 14
            "roles = [\"commerce\"]\n",             // 15
            "commission = 0.03\n",                  // 16
            "\n",                                   // 17
            "[[platforms]]\n",                      // 18
            "name = \"wechat\"\n",                  // 19
            "owner = \"tencent\"\n",                // 20
            "roles = [\"social\", \"commerce\"]\n", // 21
            "reach = 1.0\n",                        // 22
            "\n",                                   // 23
            "[[wallets]]\n",                        // 24
            "name = \"alipay\"\n",                  // 25
            "owner = \"ali\"\n",                    // 26
            "fee = 0.006\n",                        // 27
            "\n",                                   // 28
            "[[wallets]]\n",                        // 29
            "name = \"wechat_pay\"\n",              // 30
            "owner = \"tencent\"\n",                // 31
            "fee = 0.006\n",                        // 32
            "\n",                                   // 33
            $rest
        )
    };
}

const CASES: &[Case] = &[
    // ---- keys toml itself rejects -------------------------------------------------------
    Case {
        name: "unknown top-level key",
        text: "name = \"x\"\nstpes = 100\n",
        line: 2,
        key: "stpes",
        expect: &["unknown field `stpes`", "expected one of", "`steps`"],
        help: Some("did you mean `steps`?"),
    },
    Case {
        name: "unknown key in a section",
        text: "steps = 10\n\n[consumers]\ncount = 500\nsigma_thetaa = 1.0\n",
        line: 5,
        key: "consumers.sigma_thetaa",
        expect: &["unknown field `sigma_thetaa`"],
        help: Some("did you mean `sigma_theta`?"),
    },
    Case {
        name: "unknown key in an array-of-tables entry",
        text: world!("[[platforms]]\nname = \"jd\"\nowner = \"tencent\"\nroles = [\"commerce\"]\ncomission = 0.05\n"),
        line: 38,
        key: "platforms[2].comission",
        expect: &["unknown field `comission`"],
        help: Some("did you mean `commission`?"),
    },
    Case {
        name: "string where a number is expected",
        text: "[policy]\ntau = \"high\"\n",
        line: 2,
        key: "policy.tau",
        expect: &["invalid type: string \"high\"", "expected a number"],
        help: None,
    },
    Case {
        name: "string where a whole number is expected",
        text: "[consumers]\n\ncount = \"many\"\n",
        line: 3,
        key: "consumers.count",
        expect: &["invalid type: string \"many\"", "expected a whole number"],
        help: None,
    },
    Case {
        name: "negative count",
        text: "seed = 7\n[consumers]\ncount = -5\n",
        line: 3,
        key: "consumers.count",
        expect: &["-5", "expected a whole number ≥ 0"],
        help: None,
    },
    Case {
        name: "TOML syntax error",
        text: "steps = 10\n[policy]\ntau = 0.2\ntoken_penalty = = 0.5\n",
        line: 4,
        key: "policy.token_penalty",
        expect: &["invalid TOML", "expected"],
        help: None,
    },
    Case {
        name: "unterminated string",
        text: "name = \"x\"\n\n[graph]\ngenerator = \"communities\nmean_degree = 10\n",
        line: 4,
        key: "graph.generator",
        expect: &["invalid TOML", "string"],
        help: None,
    },
    Case {
        name: "key given twice",
        text: "steps = 10\n[consumers]\ncount = 100\ncount = 200\n",
        line: 4,
        key: "consumers.count",
        expect: &["invalid TOML: duplicate key"],
        help: None,
    },
    // ---- probabilities, rates and counts --------------------------------------------------
    Case {
        name: "shop_prob above 1",
        text: "[consumers]\ncount = 500\nshop_prob = 1.5\n",
        line: 3,
        key: "consumers.shop_prob",
        expect: &["1.5 is not a probability", "expected a number in [0, 1]"],
        help: None,
    },
    Case {
        name: "tau negative",
        text: "steps = 10\n\n[policy]\nlinks = \"walled\"\ntau = -0.1\n",
        line: 5,
        key: "policy.tau",
        expect: &["-0.1 is not a probability", "[0, 1]"],
        help: None,
    },
    Case {
        name: "share_prob above 1",
        text: "[links]\nshare_prob = 2.0\n",
        line: 2,
        key: "links.share_prob",
        expect: &["2 is not a probability", "[0, 1]"],
        help: None,
    },
    Case {
        name: "rho above 1",
        text: "[revision]\ngamma_app = 1.0\nrho = 1.2\n",
        line: 3,
        key: "revision.rho",
        expect: &["1.2 is not a probability", "[0, 1]"],
        help: None,
    },
    Case {
        name: "homophily above 1",
        text: "[graph]\ngenerator = \"communities\"\nhomophily = 1.5\n",
        line: 3,
        key: "graph.homophily",
        expect: &["1.5 is not a probability", "[0, 1]"],
        help: None,
    },
    Case {
        name: "zero consumers",
        text: "[consumers]\ncount = 0\n",
        line: 2,
        key: "consumers.count",
        expect: &["0 consumers", "expected between 1 and"],
        help: None,
    },
    Case {
        name: "commission above 1",
        text: world!("[[platforms]]\nname = \"jd\"\nowner = \"tencent\"\nroles = [\"commerce\"]\ncommission = 3\n"),
        line: 38,
        key: "platforms[2].commission",
        expect: &["3 is not a rate", "[0, 1]"],
        help: Some("3% is 0.03"),
    },
    Case {
        name: "wallet fee above 1",
        text: world!("[[wallets]]\nname = \"bank_card\"\nfee = 1.5\n"),
        line: 36,
        key: "wallets[2].fee",
        expect: &["1.5 is not a rate", "[0, 1]"],
        help: Some("write rates as fractions"),
    },
    Case {
        name: "margin range upside down",
        text: "[merchants]\nmargin = [0.5, 0.2]\n",
        line: 2,
        key: "merchants.margin",
        expect: &["[0.5, 0.2] is not a margin range", "expected 0 < lo ≤ hi < 1"],
        help: None,
    },
    Case {
        name: "malformed start_date",
        text: "steps = 10\nstart_date = \"2021-02-30\"\n",
        line: 2,
        key: "start_date",
        expect: &["`2021-02-30` is not a date", "expected YYYY-MM-DD"],
        help: Some("start_date = \"2021-01-01\""),
    },
    // ---- names ---------------------------------------------------------------------------
    Case {
        name: "platform owned by an undefined ecosystem",
        text: world!("[[platforms]]\nname = \"jd\"\nowner = \"tencnet\"\nroles = [\"commerce\"]\n"),
        line: 36,
        key: "platforms[2].owner",
        expect: &["unknown ecosystem `tencnet`", "expected one of the ecosystems"],
        help: Some("did you mean `tencent`?"),
    },
    Case {
        name: "undefined wallet in accepts",
        text: world!("[[platforms]]\nname = \"jd\"\nowner = \"tencent\"\nroles = [\"commerce\"]\naccepts = [\"wechat_pay\", \"alipya\"]\n"),
        line: 38,
        key: "platforms[2].accepts",
        expect: &["unknown wallet `alipya`", "expected one of the wallets"],
        help: Some("did you mean `alipay`?"),
    },
    Case {
        name: "undefined wallet owner",
        text: world!("[[wallets]]\nname = \"douyin_pay\"\nowner = \"bytedanse\"\n"),
        line: 36,
        key: "wallets[2].owner",
        expect: &["unknown ecosystem `bytedanse`"],
        help: Some("valid names: `ali`, `tencent`"),
    },
    Case {
        name: "duplicate platform name",
        text: world!("[[platforms]]\nname = \"taobao\"\nowner = \"ali\"\nroles = [\"commerce\"]\n"),
        line: 35,
        key: "platforms[2].name",
        expect: &["`taobao` is defined twice", "expected each name once"],
        help: Some("rename one of them"),
    },
    Case {
        name: "main marketplace owned by another ecosystem",
        text: "[[ecosystems]]\nname = \"ali\"\npopulation_share = 0.5\nmain_marketplace = \"taobao\"\n\n[[ecosystems]]\nname = \"tencent\"\npopulation_share = 0.5\nmain_marketplace = \"taobao\"\n\n[[platforms]]\nname = \"taobao\"\nowner = \"ali\"\nroles = [\"commerce\"]\n\n[[platforms]]\nname = \"wechat\"\nowner = \"tencent\"\nroles = [\"social\"]\nreach = 1.0\n\n[[wallets]]\nname = \"card\"\n",
        line: 9,
        key: "ecosystems[1].main_marketplace",
        expect: &["`taobao` is owned by `ali`, not by `tencent`", "expected a commerce platform that `tencent` owns"],
        help: Some("`tencent` owns no commerce platform"),
    },
    Case {
        name: "platform role typo",
        text: world!("[[platforms]]\nname = \"jd\"\nowner = \"tencent\"\nroles = [\"comerce\"]\n"),
        line: 37,
        key: "platforms[2].roles",
        expect: &["unknown role `comerce`", "expected `social` or `commerce`"],
        help: Some("did you mean `commerce`?"),
    },
    // ---- policy and link rules ------------------------------------------------------------
    Case {
        name: "policy.links preset typo",
        text: "[policy]\ntau = 0.3\nlinks = \"walld\"\n",
        line: 3,
        key: "policy.links",
        expect: &["unknown preset `walld`", "expected `walled`, `dm_open` or `open`"],
        help: Some("did you mean `walled`?"),
    },
    Case {
        name: "policy.wallets preset typo",
        text: "[policy]\nwallets = \"interoprable\"\n",
        line: 2,
        key: "policy.wallets",
        expect: &["unknown preset `interoprable`", "expected `house` or `interoperable`"],
        help: Some("did you mean `interoperable`?"),
    },
    Case {
        name: "link rule with unknown channel",
        text: "steps = 50\n\n[[link_rules]]\nsocial = \"wechat\"\nchannel = \"groupe\"\nstate = \"open\"\n",
        line: 5,
        key: "link_rules[0].channel",
        expect: &["unknown channel `groupe`", "expected `dm`, `group`, `feed` or `*`"],
        help: Some("did you mean `group`?"),
    },
    Case {
        name: "link rule with unknown state",
        text: "[[link_rules]]\nsocial = \"*\"\nstate = \"closed\"\n",
        line: 3,
        key: "link_rules[0].state",
        expect: &["unknown state `closed`", "expected `open` or `blocked`"],
        help: None,
    },
    // ---- events ------------------------------------------------------------------------------
    Case {
        name: "event on an undefined platform",
        text: "steps = 100\n\n[[events]]\nstep = 10\nkind = \"commission\"\nplatform = \"taobo\"\nvalue = 0.05\n",
        line: 6,
        key: "events[0].platform",
        expect: &["unknown platform `taobo`", "expected one of the platforms"],
        help: Some("did you mean `taobao`?"),
    },
    Case {
        name: "unknown event kind",
        text: "steps = 100\n[[events]]\nstep = 10\nkind = \"comission\"\nplatform = \"taobao\"\nvalue = 0.05\n",
        line: 4,
        key: "events[0].kind",
        expect: &["unknown event kind `comission`", "expected one of link, accept"],
        help: Some("did you mean `commission`?"),
    },
    Case {
        name: "event with both step and date",
        text: "steps = 400\n[[events]]\nkind = \"tau\"\nvalue = 0.5\nstep = 10\ndate = \"2021-03-01\"\n",
        line: 5,
        key: "events[0].step",
        expect: &["both `step` and `date`", "expected one of them"],
        help: None,
    },
    Case {
        name: "event without step or date",
        text: "steps = 400\n\n[[events]]\nkind = \"tau\"\nvalue = 0.5\n",
        line: 3,
        key: "events[0]",
        expect: &["no `step` or `date`", "expected one of them"],
        help: Some("add step = 10"),
    },
    Case {
        name: "event with a malformed date",
        text: "steps = 400\n[[events]]\nkind = \"tau\"\nvalue = 0.5\ndate = \"17/09/2021\"\n",
        line: 5,
        key: "events[0].date",
        expect: &["`17/09/2021` is not a date", "expected YYYY-MM-DD"],
        help: None,
    },
    Case {
        name: "event dated before start_date",
        text: "steps = 400\nstart_date = \"2021-01-01\"\n[[events]]\nkind = \"tau\"\nvalue = 0.5\ndate = \"2020-12-31\"\n",
        line: 6,
        key: "events[0].date",
        expect: &["2020-12-31 is before start_date 2021-01-01", "expected a date on or after"],
        help: None,
    },
    Case {
        name: "event after the last step",
        text: "steps = 100\n\n[[events]]\nkind = \"tau\"\nvalue = 0.5\nstep = 150\n",
        line: 6,
        key: "events[0].step",
        expect: &["takes effect at step 150, after the last step 99"],
        help: Some("increase `steps` above 150"),
    },
    Case {
        name: "dated event after the last step",
        text: "steps = 30\nstart_date = \"2021-01-01\"\n[[events]]\nkind = \"tau\"\nvalue = 0.5\ndate = \"2021-09-17\"\n",
        line: 6,
        key: "events[0].date",
        expect: &["takes effect at step 259, after the last step 29"],
        help: Some("increase `steps` above 259"),
    },
    Case {
        name: "pending event delayed past the last step",
        text: "steps = 100\n[[events]]\nkind = \"tau\"\nvalue = 0.5\nstep = 90\npending = { approver = \"tencent\", delay = 20 }\n",
        line: 6,
        key: "events[0].pending.delay",
        expect: &["takes effect at step 110, after the last step 99"],
        help: Some("increase `steps` above 110"),
    },
    Case {
        name: "pending event with two effective options",
        text: "steps = 100\n[[events]]\nkind = \"tau\"\nvalue = 0.5\nstep = 10\npending = { delay = 5, effective_step = 20 }\n",
        line: 6,
        key: "events[0].pending",
        expect: &["`delay` and `effective_step` given; expected exactly one of `delay`, `effective_step`, `effective_date`"],
        help: Some("pending = { approver"),
    },
    Case {
        name: "pending event with two effective options (sub-table)",
        text: "steps = 100\n[[events]]\nkind = \"tau\"\nvalue = 0.5\nstep = 10\n\n[events.pending]\ndelay = 5\neffective_date = \"2021-02-01\"\n",
        line: 7,
        key: "events[0].pending",
        expect: &["`delay` and `effective_date` given; expected exactly one of"],
        help: None,
    },
    Case {
        name: "pending approver undefined",
        text: "steps = 100\n[[events]]\nkind = \"tau\"\nvalue = 0.5\nstep = 10\n[events.pending]\napprover = \"tencen\"\ndelay = 5\n",
        line: 7,
        key: "events[0].pending.approver",
        expect: &["unknown ecosystem `tencen`"],
        help: Some("did you mean `tencent`?"),
    },
    Case {
        name: "event missing its value",
        text: "steps = 100\n[[events]]\nstep = 3\nkind = \"tau\"\n",
        line: 2,
        key: "events[0].value",
        expect: &["missing; a `tau` event needs a value"],
        help: None,
    },
    Case {
        name: "event missing its kind",
        text: "steps = 100\n[[events]]\nstep = 3\nvalue = 0.5\n",
        line: 2,
        key: "events[0].kind",
        expect: &["missing field `kind`"],
        help: None,
    },
    // ---- graph ---------------------------------------------------------------------------------
    Case {
        name: "unknown graph generator",
        text: "[graph]\nmean_degree = 10\ngenerator = \"smallworld\"\n",
        line: 3,
        key: "graph.generator",
        expect: &["unknown generator `smallworld`", "expected `communities`, `small_world` or `edge_list`"],
        help: Some("did you mean `small_world`?"),
    },
    Case {
        name: "small_world with an odd mean degree",
        text: "[graph]\ngenerator = \"small_world\"\nmean_degree = 5\n",
        line: 3,
        key: "graph.mean_degree",
        expect: &["5 is not an even whole number", "expected an even whole mean degree ≥ 2"],
        help: Some("try 4 or 6"),
    },
    Case {
        name: "edge_list without a path",
        text: "steps = 10\n[graph]\ngenerator = \"edge_list\"\n",
        line: 2,
        key: "graph.path",
        expect: &["missing; the edge_list generator needs `path`", "CSV or Parquet"],
        help: Some("path = \"edges.csv\""),
    },
    Case {
        name: "edge_list with a missing file",
        text: "[graph]\ngenerator = \"edge_list\"\npath = \"no_such_edges.csv\"\n",
        line: 3,
        key: "graph.path",
        expect: &["no_such_edges.csv` not found"],
        help: Some("relative to the scenario file"),
    },
    // ---- sweeps ------------------------------------------------------------------------------
    Case {
        name: "sweep param with both values and range",
        text: "steps = 10\n\n[[sweep.param]]\npath = \"policy.tau\"\nvalues = [0.1, 0.2]\nrange = { start = 0, stop = 1, steps = 3 }\n",
        line: 3,
        key: "sweep.param[0]",
        expect: &["expected exactly one of `values` (a non-empty list) or `range`"],
        help: Some("values = [0.1, 0.2]"),
    },
    Case {
        name: "sweep param with neither values nor range",
        text: "[[sweep.param]]\npath = \"policy.tau\"\nvalues = [0.1]\n\n[[sweep.param]]\npath = \"links.share_prob\"\n",
        line: 5,
        key: "sweep.param[1]",
        expect: &["expected exactly one of `values` (a non-empty list) or `range`"],
        help: None,
    },
    Case {
        name: "sweep zipped params of unequal length",
        text: "[sweep]\nreplicates = 2\n\n[[sweep.param]]\npath = \"policy.tau\"\nvalues = [0.1, 0.2, 0.3]\nzip = \"a\"\n\n[[sweep.param]]\npath = \"links.share_prob\"\nvalues = [0.1, 0.2]\nzip = \"a\"\n",
        line: 9,
        key: "sweep.param[1]",
        expect: &["zipped with `policy.tau` but has 2 values instead of 3"],
        help: Some("the same number of values"),
    },
    Case {
        name: "sweep path to an unknown platform",
        text: "steps = 10\n[[sweep.param]]\npath = \"platforms.taobaoo.commission\"\nvalues = [0.01, 0.02]\n",
        line: 3,
        key: "sweep.param[0].path",
        expect: &["no entry named `taobaoo` in `platforms`"],
        help: Some("did you mean `taobao`?"),
    },
    Case {
        name: "sweep path that is not a dotted key",
        text: "[[sweep.param]]\npath = \"policy..tau\"\nvalues = [0.1]\n",
        line: 2,
        key: "sweep.param[0].path",
        expect: &["`policy..tau` is not a dotted key path"],
        help: Some("for example `policy.tau`"),
    },
    Case {
        name: "sweep path to an unknown key",
        text: "[[sweep.param]]\npath = \"policy.taux\"\nvalues = [0.1, 0.2]\n",
        line: 2,
        key: "sweep.param[0].path",
        expect: &["`policy.taux` does not name a scenario key", "unknown field `taux`, expected one of `tau`"],
        help: Some("did you mean `tau`?"),
    },
    Case {
        name: "sweep value of the wrong type",
        text: "[[sweep.param]]\npath = \"consumers.count\"\nvalues = [1000, \"many\"]\n",
        line: 3,
        key: "sweep.param[0].values",
        expect: &["at sweep point consumers__count=many", "expected a whole number"],
        help: Some("a swept value must have the type of the key it sets"),
    },
    Case {
        name: "sweep value making the scenario invalid",
        text: "[policy]\ntau = 0.2\n\n[sweep]\nreplicates = 3\n[[sweep.param]]\npath = \"policy.tau\"\nvalues = [0.5, 1.5]\n",
        line: 8,
        key: "policy.tau",
        expect: &["at sweep point policy__tau=1.5", "1.5 is not a probability", "[0, 1]"],
        help: None,
    },
    Case {
        name: "sweep value invalid at several points",
        text: "[[sweep.param]]\npath = \"policy.tau\"\nvalues = [0.5, 1.5]\n\n[[sweep.param]]\npath = \"links.share_prob\"\nvalues = [0.1, 0.2, 0.3]\n",
        line: 3,
        key: "policy.tau",
        expect: &["at sweep point policy__tau=1.5, links__share_prob=0.1 (and 2 more points): 1.5 is not a probability"],
        help: None,
    },
    Case {
        name: "swept commission above 1",
        text: "[[sweep.param]]\npath = \"platforms.jd.commission\"\nrange = { start = 0.5, stop = 1.5, steps = 3 }\n",
        line: 3,
        key: "platforms[5].commission",
        expect: &["at sweep point platforms__jd__commission=1.5", "1.5 is not a rate"],
        help: Some("3% is 0.03"),
    },
    Case {
        name: "sweep too large",
        text: "[[sweep.param]]\npath = \"policy.tau\"\nrange = { start = 0, stop = 1, steps = 1000 }\n\n[[sweep.param]]\npath = \"links.share_prob\"\nrange = { start = 0, stop = 1, steps = 1000 }\n",
        line: 1,
        key: "sweep",
        expect: &["1000000 sweep points; expected at most 100000"],
        help: None,
    },
    Case {
        name: "too many runs",
        text: "replicates = 4000000000\n",
        line: 1,
        key: "replicates",
        expect: &["1 point × 4000000000 replicates", "expected at most 10000000"],
        help: None,
    },
    Case {
        name: "sweep with zero replicates",
        text: "[sweep]\nreplicates = 0\n",
        line: 2,
        key: "sweep.replicates",
        expect: &["0 replicates; expected at least 1"],
        help: None,
    },
    Case {
        name: "sweep range with zero steps",
        text: "[[sweep.param]]\npath = \"policy.tau\"\nrange = { start = 0, stop = 1, steps = 0 }\n",
        line: 3,
        key: "sweep.param[0].range",
        expect: &["steps = 0", "expected finite bounds and 1 ≤ steps ≤ 100000"],
        help: None,
    },
];

/// Display of the error, or a panic naming the case when the scenario loads.
fn error_text(name: &str, text: &str) -> (ScenarioError, String) {
    match from_text(text, FILE, Path::new(".")) {
        Ok(plan) => panic!(
            "case `{name}`: expected an error, but it loaded with {} points",
            plan.points.len()
        ),
        Err(e) => {
            let shown = e.to_string();
            (e, shown)
        }
    }
}

#[test]
fn malformed_scenarios_are_reported_with_file_line_key_and_help() {
    assert!(CASES.len() >= 25);
    let mut failures = Vec::new();
    for case in CASES {
        let (err, shown) = error_text(case.name, case.text);
        assert_eq!(err.file, FILE);
        // Display: "  FILE:LINE: key `KEY`: MESSAGE" then, optionally, "    help: SUGGESTION".
        let head = format!("{FILE}:{}: key `{}`: ", case.line, case.key);
        let lines: Vec<&str> = shown.lines().collect();
        let found = lines.iter().enumerate().any(|(i, l)| {
            let help = lines
                .get(i + 1)
                .and_then(|h| h.trim_start().strip_prefix("help: "));
            l.trim_start().starts_with(&head)
                && case.expect.iter().all(|f| l.contains(f))
                && case
                    .help
                    .is_none_or(|h| help.is_some_and(|got| got.contains(h)))
        });
        if !found {
            failures.push(format!(
                "case `{}`: wanted `{head}` with {:?} and help {:?}; got:\n{shown}",
                case.name, case.expect, case.help
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let text = "[consumers]\nshop_prob = 1.5\n[policy]\ntau = 2.0\nlinks = \"walld\"\n";
    let (err, shown) = error_text("three problems", text);
    assert_eq!(err.problems.len(), 3, "{shown}");
    assert!(
        shown.starts_with("3 problems in scenario bad.toml:"),
        "{shown}"
    );
    let lines: Vec<_> = err.problems.iter().map(|p| p.line).collect();
    assert_eq!(
        lines,
        vec![Some(2), Some(4), Some(5)],
        "problems come in file order: {shown}"
    );
}

#[test]
fn a_clash_with_a_default_list_says_so() {
    // Own ecosystems, default wallets: the default wallets name `bytedance`.
    let text = "[[ecosystems]]\nname = \"ali\"\npopulation_share = 0.5\n[[ecosystems]]\nname = \"tencent\"\npopulation_share = 0.5\n";
    let (err, shown) = error_text("default wallets", text);
    let p = err
        .problems
        .iter()
        .find(|p| p.key.starts_with("wallets["))
        .unwrap_or_else(|| panic!("{shown}"));
    assert!(
        p.message
            .starts_with("in the default wallets: unknown ecosystem `bytedance`"),
        "{shown}"
    );
    assert!(
        p.suggestion
            .as_deref()
            .unwrap_or("")
            .contains("define [[wallets]]"),
        "{shown}"
    );
}

#[test]
fn the_key_at_an_offset_has_indices() {
    use gardengate::scenario::error::key_at;
    let text = "seed = 1\n[consumers]\ncount = 5\n\n[[platforms]]\nname = \"a\"\n\n[[platforms]]\nname = \"b\"\nroles = [\"x\", \"y\"]\npending = { delay = 3 }\n";
    let at = |s: &str| key_at(text, text.find(s).unwrap());
    assert_eq!(at("seed").as_deref(), Some("seed"));
    assert_eq!(at("count").as_deref(), Some("consumers.count"));
    assert_eq!(at("\"b\"").as_deref(), Some("platforms[1].name"));
    assert_eq!(at("\"y\"").as_deref(), Some("platforms[1].roles[1]"));
    assert_eq!(at("delay").as_deref(), Some("platforms[1].pending.delay"));
    assert_eq!(
        at("[[platforms]]\nname = \"b").as_deref(),
        Some("platforms[1]")
    );
    assert_eq!(key_at("a = = 1", 4), None);
}

#[test]
fn a_sweep_problem_is_reported_once() {
    // Four sweep points share the bad path: one problem, not four.
    let text = "[[sweep.param]]\npath = \"platforms.taobaoo.commission\"\nvalues = [0.01, 0.02, 0.03, 0.04]\n";
    let (err, shown) = error_text("sweep once", text);
    assert_eq!(err.problems.len(), 1, "{shown}");
}

// ---- no input panics ------------------------------------------------------------------------

/// A valid scenario that uses most of the format.
const VALID: &str = r#"name = "mutant"
seed = 42
steps = 120
start_date = "2021-01-01"
days_per_step = 1

[consumers]
count = 2000
shop_prob = 0.25
shop_beta = [2.0, 6.0]

[merchants]
count = 200
margin = [0.1, 0.4]

[links]
share_prob = 0.1
channel_weights = { dm = 0.5, group = 0.3, feed = 0.2 }

[revision]
rho = 0.02

[policy]
tau = 0.2
links = "walled"
wallets = "house"

[graph]
generator = "communities"
mean_degree = 10
community_size = 50
homophily = 0.7

[[ecosystems]]
name = "ali"
population_share = 0.5
main_marketplace = "taobao"

[[ecosystems]]
name = "tencent"
population_share = 0.5

[[platforms]]
name = "taobao"
owner = "ali"
roles = ["commerce"]
commission = 0.03
accepts = ["alipay", "bank_card"]

[[platforms]]
name = "wechat"
owner = "tencent"
roles = ["social", "commerce"]
reach = 0.9

[[wallets]]
name = "alipay"
owner = "ali"
fee = 0.006

[[wallets]]
name = "wechat_pay"
owner = "tencent"
fee = 0.006

[[wallets]]
name = "bank_card"
fee = 0.006

[[link_rules]]
social = "wechat"
channel = "dm"
target = "ali"
state = "open"

[[events]]
date = "2021-02-01"
kind = "commission"
platform = "taobao"
value = 0.05

[[events]]
step = 40
kind = "link"
social = "wechat"
channel = "group"
state = "open"
pending = { approver = "tencent", delay = 10 }

[sweep]
replicates = 2

[[sweep.param]]
path = "policy.tau"
values = [0.1, 0.3]
zip = "z"

[[sweep.param]]
path = "platforms.taobao.commission"
values = [0.02, 0.04]
zip = "z"

[[sweep.param]]
path = "links.share_prob"
range = { start = 0.05, stop = 0.2, steps = 3 }
"#;

/// A small linear congruential generator (Knuth's MMIX constants).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One random edit of `text`, at a character boundary.
fn mutate(text: &str, rng: &mut Lcg) -> String {
    let chars: Vec<char> = text.chars().collect();
    let lines: Vec<&str> = text.lines().collect();
    let at = rng.below(chars.len());
    let digits: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| c.is_ascii_digit())
        .map(|(i, _)| i)
        .collect();
    let quotes: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == '"')
        .map(|(i, _)| i)
        .collect();
    if chars.is_empty() || digits.is_empty() || quotes.len() < 2 {
        return text.to_string();
    }
    let mut out = chars.clone();
    match rng.below(10) {
        // Delete a character.
        0 => {
            out.remove(at);
        }
        // Duplicate a line.
        1 => {
            let l = rng.below(lines.len());
            let mut ls = lines.clone();
            ls.insert(l, lines[l]);
            return ls.join("\n");
        }
        // Delete a line.
        2 => {
            let l = rng.below(lines.len());
            let mut ls = lines.clone();
            ls.remove(l);
            return ls.join("\n");
        }
        // Swap two adjacent digits, or a digit with the next character.
        3 => {
            let d = digits[rng.below(digits.len())];
            if d + 1 < out.len() {
                out.swap(d, d + 1);
            }
        }
        // Insert a minus sign before a digit.
        4 => {
            let d = digits[rng.below(digits.len())];
            out.insert(d, '-');
        }
        // Replace a digit by another, or by a long run of digits.
        5 => {
            let d = digits[rng.below(digits.len())];
            out[d] = char::from(b'0' + rng.below(10) as u8);
            if rng.below(4) == 0 {
                for _ in 0..rng.below(25) {
                    out.insert(d, '9');
                }
            }
        }
        // Insert a character that matters to TOML or to names.
        6 => {
            let set = [
                '[', ']', '"', '=', '.', ',', '{', '}', '\n', '#', '\'', '_', 'x', '*', 'é', '\\',
                '0',
            ];
            out.insert(at, set[rng.below(set.len())]);
        }
        // Swap two lines.
        7 => {
            let (a, b) = (rng.below(lines.len()), rng.below(lines.len()));
            let mut ls = lines.clone();
            ls.swap(a, b);
            return ls.join("\n");
        }
        // Truncate the file.
        8 => {
            out.truncate(at);
        }
        // Replace a word of a quoted name by another name from the file.
        _ => {
            let names = [
                "ali",
                "tencent",
                "taobao",
                "wechat",
                "alipay",
                "*",
                "",
                "group",
                "open",
                "small_world",
                "edge_list",
            ];
            let q = quotes[rng.below(quotes.len() / 2) * 2];
            if let Some(end) = chars[q + 1..].iter().position(|c| *c == '"') {
                let name = names[rng.below(names.len())];
                out.splice(q + 1..q + 1 + end, name.chars());
            }
        }
    }
    out.into_iter().collect()
}

/// Feeds mutants of `VALID` to the loader (`FUZZ_N` mutants, default 400).
#[test]
fn no_mutated_scenario_panics() {
    let base = from_text(VALID, "valid.toml", Path::new("."))
        .unwrap_or_else(|e| panic!("the base scenario must load:\n{e}"));
    assert_eq!(base.points.len(), 6);
    assert_eq!(base.runs.len(), 12);

    let mut rng = Lcg(0x5eed_1234_abcd);
    let (mut ok, mut failed) = (0, 0);
    let n: usize = std::env::var("FUZZ_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    for i in 0..n {
        let mut text = VALID.to_string();
        for _ in 0..1 + rng.below(3) {
            text = mutate(&text, &mut rng);
        }
        let result = std::panic::catch_unwind(|| from_text(&text, "mutant.toml", Path::new(".")));
        match result {
            Err(_) => panic!("mutant {i} panicked; its text:\n{text}"),
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                failed += 1;
                let shown = e.to_string();
                assert!(
                    !e.problems.is_empty(),
                    "mutant {i}: an error without problems"
                );
                assert!(shown.contains("mutant.toml"), "mutant {i}: {shown}");
                let n_lines = text.lines().count() + 1;
                for p in &e.problems {
                    assert!(
                        p.line.is_none_or(|l| (1..=n_lines).contains(&l)),
                        "mutant {i}: {shown}"
                    );
                }
            }
        }
    }
    // The mutations should both break and keep scenarios valid.
    println!("{ok} valid and {failed} invalid mutants");
    assert!(
        ok > n / 40 && failed > n / 4,
        "{ok} valid and {failed} invalid mutants"
    );
}

// ---- valid scenarios -----------------------------------------------------------------------

fn load(text: &str) -> Plan {
    from_text(text, "ok.toml", Path::new(".")).unwrap_or_else(|e| panic!("should load:\n{e}"))
}

#[test]
fn empty_text_is_the_default_scenario() {
    let plan = load("");
    assert_eq!(plan.points.len(), 1);
    assert_eq!(plan.runs.len(), 1);
    assert_eq!(plan.replicates, 1);
    assert!(plan.sweep_columns.is_empty());
    assert_eq!(plan.points[0].label, "base");
    let sc = &plan.points[0].scenario;
    assert_eq!(sc.steps, 365);
    assert_eq!(sc.ecosystems.len(), 3);
    assert_eq!(sc.platforms.len(), 7);
    assert_eq!(sc.wallets.len(), 4);
    assert_eq!(plan.runs[0].run_id, 0);
}

#[test]
fn sweep_gives_points_times_replicates_runs_with_stable_distinct_seeds() {
    let text = r#"seed = 9
steps = 50

[sweep]
replicates = 4

[[sweep.param]]
path = "policy.tau"
values = [0.1, 0.9]
zip = "pair"

[[sweep.param]]
path = "platforms.taobao.commission"
values = [0.01, 0.09]
zip = "pair"
column = "taobao_c"

[[sweep.param]]
path = "links.share_prob"
range = { start = 0.0, stop = 0.2, steps = 3 }
"#;
    let plan = load(text);
    assert_eq!(
        plan.sweep_columns,
        vec!["policy__tau", "taobao_c", "links__share_prob"]
    );
    assert_eq!(plan.points.len(), 6);
    assert_eq!(plan.replicates, 4);
    assert_eq!(plan.runs.len(), 24);
    for (i, r) in plan.runs.iter().enumerate() {
        assert_eq!(r.run_id as usize, i);
        assert_eq!(r.run_id, r.point_id * 4 + r.replicate);
        assert!(r.replicate < 4);
    }
    let seeds: HashSet<u64> = plan.runs.iter().map(|r| r.seed).collect();
    assert_eq!(seeds.len(), 24, "seeds must be distinct");
    let again = load(text);
    assert_eq!(
        plan.runs, again.runs,
        "reloading gives the same runs and seeds"
    );

    // The zipped pair moves together; the first axis varies slowest.
    let p = &plan.points[4];
    assert_eq!(p.scenario.tau, 0.9);
    let taobao = p
        .scenario
        .platforms
        .iter()
        .find(|x| x.name == "taobao")
        .unwrap();
    assert_eq!(taobao.commission, 0.09);
    assert!((p.scenario.links.share_prob - 0.1).abs() < 1e-12);
    assert_eq!(plan.points[0].scenario.tau, 0.1);
    assert!(
        plan.points[0].label.contains("policy__tau=0.1"),
        "{}",
        plan.points[0].label
    );

    // Another master seed gives other run seeds.
    let other = load(&text.replace("seed = 9", "seed = 10"));
    assert!(other
        .runs
        .iter()
        .zip(&plan.runs)
        .all(|(a, b)| a.seed != b.seed));
}

// ---- issue 14: extreme values, narrowing casts, long inputs, many events, edge lists -------

/// A small scenario with every numeric key written out, so that mutations hit them, and small
/// enough to run: accepted mutants are simulated and their welfare must be finite.
const SMALL: &str = r#"name = "fz"
steps = 4
days_per_step = 1
start_date = "2021-01-01"
[consumers]
count = 200
home_bias = 3.0
loyalty = 1.0
sigma_theta = 1.0
alpha_median = 0.02
alpha_log_sd = 0.3
shop_prob = 0.2
outside_utility = 0.0
[merchants]
count = 20
sigma_q = 0.5
price_median = 80.0
price_log_sd = 0.5
profit_scale = 100.0
margin = [0.1, 0.3]
[links]
beta_link = 1.0
share_prob = 0.1
inbox_capacity = 8
inbox_ttl = 7
k_search = 4
group_size = 5
[revision]
rho = 0.02
gamma_wallet = 3.0
gamma_app = 2.0
switch_cost = 0.3
drop_after = 90
[policy]
tau = 0.2
token_penalty = 0.5
[graph]
generator = "small_world"
mean_degree = 4
rewire = 0.1
[[events]]
step = 2
kind = "join_cost"
platform = "taobao"
value = 1.0
"#;

/// Byte ranges of the number literals of a text (a digit run with its sign, point, exponent).
fn number_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit()
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'_')
        {
            let start = if i > 0 && b[i - 1] == b'-' { i - 1 } else { i };
            let mut j = i;
            while j < b.len() && (b[j].is_ascii_digit() || b"._eE+-".contains(&b[j])) {
                j += 1;
            }
            out.push((start, j));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

/// One mutation of the issue-14 classes: narrowing casts, extreme finite values, long
/// inputs, many events (invalid UTF-8 is fuzzed through files in `invalid_utf8_...`).
fn extreme_mutate(text: &str, rng: &mut Lcg) -> String {
    const NARROW: [&str; 10] = [
        "4294967296",
        "4294967295",
        "4294967294",
        "65536",
        "65535",
        "256",
        "255",
        "9223372036854775807",
        "42949682.96",
        "1e10",
    ];
    const EXTREME: [&str; 12] = [
        "1e308",
        "-1e308",
        "1e-308",
        "5e-324",
        "-5e-324",
        "1.7976931348623157e308",
        "0.0",
        "-0.0",
        "1e-12",
        "1e12",
        "1e6",
        "-1e6",
    ];
    let spans = number_spans(text);
    match rng.below(5) {
        0 | 1 if !spans.is_empty() => {
            let (a, b) = spans[rng.below(spans.len())];
            let set: &[&str] = if rng.below(2) == 0 { &NARROW } else { &EXTREME };
            format!("{}{}{}", &text[..a], set[rng.below(set.len())], &text[b..])
        }
        2 => {
            // A long input: a long name, a long number or a long comment line.
            let long = "a".repeat(1 + rng.below(20_000));
            match rng.below(3) {
                0 => text.replacen("\"fz\"", &format!("\"{long}\""), 1),
                1 => text.replacen(
                    "count = 200",
                    &format!("count = 2{}", "0".repeat(rng.below(400))),
                    1,
                ),
                _ => format!("# {long}\n{text}"),
            }
        }
        3 => {
            // Many events.
            let mut t = text.to_string();
            for k in 0..1 + rng.below(1500) {
                t.push_str(&format!(
                    "[[events]]\nstep = {}\nkind = \"commission\"\nplatform = \"taobao\"\nvalue = 0.0{}\n",
                    k % 5,
                    k % 10
                ));
            }
            t
        }
        _ => mutate(text, rng),
    }
}

/// What a fuzz campaign found.
#[derive(Default, Debug)]
struct FuzzCounts {
    cases: usize,
    accepted: usize,
    rejected: usize,
    simulated: usize,
    panics: usize,
    hangs: usize,
    nonfinite: usize,
}

/// The welfare and money columns of a run that must be finite.
const MUST_BE_FINITE: [&str; 4] = [
    "consumer_surplus",
    "merchant_profit",
    "platform_revenue",
    "total_welfare",
];

/// Loads one mutant and, when accepted and small, simulates it. Counts what happened; in
/// `strict` mode a panic or a non-finite welfare value fails the test at once.
fn fuzz_case(text: &str, i: usize, counts: &mut FuzzCounts, strict: bool) {
    use gardengate::metrics::Values;
    counts.cases += 1;
    let t0 = std::time::Instant::now();
    let outcome = std::panic::catch_unwind(|| -> Result<Option<Vec<String>>, ()> {
        let plan = match from_text(text, "mutant.toml", Path::new(".")) {
            Ok(p) => p,
            Err(e) => {
                assert!(!e.problems.is_empty() && e.to_string().contains("mutant.toml"));
                return Err(());
            }
        };
        let sc = &plan.points[0].scenario;
        let small = sc.consumers.count <= 5_000 && sc.merchant_count <= 5_000 && sc.steps <= 60;
        if !small {
            return Ok(None);
        }
        let mut sim =
            gardengate::Simulation::new(std::sync::Arc::new(sc.clone()), 1).map_err(|_| ())?;
        sim.run();
        let table = gardengate::metrics::of(&sim);
        let mut bad = Vec::new();
        for (name, v) in &table.columns {
            if let Values::Float(x) = v {
                let must = MUST_BE_FINITE.contains(&name.as_str());
                if x.iter().any(|v| v.is_infinite() || (must && v.is_nan())) {
                    bad.push(name.clone());
                }
            }
        }
        Ok(Some(bad))
    });
    if t0.elapsed().as_secs_f64() > 10.0 {
        counts.hangs += 1;
    }
    match outcome {
        Err(_) => {
            counts.panics += 1;
            assert!(!strict, "mutant {i} panicked; its text:\n{text}");
        }
        Ok(Err(())) => counts.rejected += 1,
        Ok(Ok(sim)) => {
            counts.accepted += 1;
            if let Some(bad) = sim {
                counts.simulated += 1;
                if !bad.is_empty() {
                    counts.nonfinite += 1;
                    assert!(!strict, "mutant {i}: non-finite {bad:?}; its text:\n{text}");
                }
            }
        }
    }
}

fn fuzz_extreme(n: usize, seed: u64, strict: bool) -> FuzzCounts {
    let mut rng = Lcg(seed);
    let mut counts = FuzzCounts::default();
    for i in 0..n {
        let mut text = SMALL.to_string();
        for _ in 0..1 + rng.below(3) {
            text = extreme_mutate(&text, &mut rng);
        }
        fuzz_case(&text, i, &mut counts, strict);
    }
    counts
}

/// Narrowing casts, extreme finite values, long inputs and many events: never a panic, and
/// an accepted scenario never simulates to an infinite or NaN welfare (bounded: 300 cases).
#[test]
fn extreme_mutants_never_panic_nor_give_non_finite_welfare() {
    let base = from_text(SMALL, "small.toml", Path::new(".")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(base.points.len(), 1);
    let n = std::env::var("FUZZ_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let c = fuzz_extreme(n, 0x14_14_14, true);
    println!("{c:?}");
    assert!(c.rejected > n / 10 && c.simulated > n / 10, "{c:?}");
}

/// The larger campaign (`scripts/fuzz-campaign.sh`): counts instead of failing at the first
/// finding. FUZZ_CASES cases (default 10 000) of scenario mutants plus a tenth as many edge
/// lists.
#[test]
#[ignore = "long: run by scripts/fuzz-campaign.sh"]
fn fuzz_campaign() {
    let n: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let t0 = std::time::Instant::now();
    let c = fuzz_extreme(n, seed, false);
    let e = fuzz_edges(n / 10, seed, false);
    println!(
        "FUZZ scenarios: cases={} accepted={} rejected={} simulated={} panics={} hangs_over_10s={} silent_nonfinite={}",
        c.cases, c.accepted, c.rejected, c.simulated, c.panics, c.hangs, c.nonfinite
    );
    println!(
        "FUZZ edge_lists: cases={} accepted={} rejected={} panics={} misread={}",
        e.cases, e.accepted, e.rejected, e.panics, e.nonfinite
    );
    println!("FUZZ wall_s={:.1}", t0.elapsed().as_secs_f64());
}

/// Invalid UTF-8 anywhere in a scenario file is an error with the line and byte, never a
/// panic (bounded: 200 positions).
#[test]
fn invalid_utf8_is_reported_with_line_and_byte() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.toml");
    let bytes = SMALL.as_bytes();
    let mut rng = Lcg(99);
    for _ in 0..200 {
        let at = rng.below(bytes.len());
        let mut b = bytes.to_vec();
        b.insert(at, [0xff, 0xc3, 0x80 | 0x40, 0xe2][rng.below(4)]);
        if std::str::from_utf8(&b).is_ok() {
            continue;
        }
        std::fs::write(&p, &b).unwrap();
        let e = gardengate::scenario::load(&p).unwrap_err();
        let line = SMALL[..at].matches('\n').count() + 1;
        let shown = e.to_string();
        assert!(shown.contains(&format!("u.toml:{line}:")), "{shown}");
        assert!(shown.contains("invalid UTF-8 at byte"), "{shown}");
    }
}

/// Edge lists: one random edit of a valid CSV, at the byte level.
fn mutate_edges(b: &[u8], rng: &mut Lcg) -> Vec<u8> {
    let mut out = b.to_vec();
    let at = rng.below(out.len() + 1);
    match rng.below(8) {
        0 => {
            out.splice(0..0, *b"\xEF\xBB\xBF");
        }
        1 => {
            let to: &[u8] = if rng.below(2) == 0 { b"\r" } else { b"\r\n" };
            let mut v = Vec::new();
            for &c in &out {
                if c == b'\n' {
                    v.extend_from_slice(to)
                } else {
                    v.push(c)
                }
            }
            out = v;
        }
        2 => {
            let set = [
                b'-', b'.', b'x', 0xff, b' ', b',', b'#', b'\r', b'\n', b'9', 0, b'\t', b';', b'e',
            ];
            out.insert(at, set[rng.below(set.len())]);
        }
        3 => out.truncate(at),
        4 if at < out.len() => {
            out.remove(at);
        }
        5 => {
            let big = [
                "4294967296",
                "4294967295",
                "99999999999999999999",
                "-1",
                "1.5",
                "1e3",
            ];
            out.splice(at..at, big[rng.below(big.len())].bytes());
        }
        6 => {
            let head = [
                "source,target\n",
                "x,1\n",
                "7\n",
                "from_id to_id\n",
                "a,b,c\n",
            ];
            out.splice(0..0, head[rng.below(head.len())].bytes());
        }
        _ => {
            let extra = b"5,6\n".repeat(rng.below(50));
            out.extend_from_slice(&extra);
        }
    }
    out
}

/// An independent count of the edges a file holds by the documented rule, or `None` when the
/// file breaks it (then reading must fail).
fn expected_edges(b: &[u8]) -> Option<usize> {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let text = std::str::from_utf8(b).ok()?;
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut n = 0;
    let mut first = true;
    for l in text.split('\n') {
        let l = l.split('#').next().unwrap().trim();
        if l.is_empty() {
            continue;
        }
        let f: Vec<&str> = l
            .split([',', '\t', ' ', ';'])
            .filter(|x| !x.is_empty())
            .collect();
        let ids = f.len() == 2
            && f.iter()
                .all(|x| x.bytes().all(|c| c.is_ascii_digit()) && x.parse::<u32>().is_ok());
        let name = |x: &str| {
            x.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && x.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if ids {
            n += 1;
        } else if !(first && f.len() == 2 && name(f[0]) && name(f[1])) {
            return None;
        }
        first = false;
    }
    (n > 0).then_some(n)
}

fn fuzz_edges(n: usize, seed: u64, strict: bool) -> FuzzCounts {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("e.csv");
    let base = b"source,target\n0,1\n1,2\n2,3\n3,0\n# end\n";
    let mut rng = Lcg(seed ^ 0xed6e);
    let mut c = FuzzCounts::default();
    for i in 0..n {
        let mut b = base.to_vec();
        for _ in 0..1 + rng.below(3) {
            b = mutate_edges(&b, &mut rng);
        }
        std::fs::write(&p, &b).unwrap();
        c.cases += 1;
        let got = std::panic::catch_unwind(|| gardengate::scenario::edges::read(&p));
        let want = expected_edges(&b);
        match got {
            Err(_) => {
                c.panics += 1;
                assert!(
                    !strict,
                    "edge list {i} panicked: {:?}",
                    String::from_utf8_lossy(&b)
                );
            }
            Ok(Ok(edges)) => {
                c.accepted += 1;
                if want != Some(edges.len()) {
                    c.nonfinite += 1; // misread
                    assert!(
                        !strict,
                        "edge list {i}: read {} edges, expected {want:?}: {:?}",
                        edges.len(),
                        String::from_utf8_lossy(&b)
                    );
                }
            }
            Ok(Err(e)) => {
                c.rejected += 1;
                let ok = want.is_none() && e.contains("e.csv");
                if !ok {
                    c.nonfinite += 1;
                }
                assert!(
                    !strict || ok,
                    "edge list {i}: {e} (expected {want:?}): {:?}",
                    String::from_utf8_lossy(&b)
                );
            }
        }
    }
    c
}

/// Edge-list mutants (BOM, CR, stray bytes, truncation, huge ids, bad headers): never a
/// panic, never a silently dropped or invented edge (bounded: 500 cases).
#[test]
fn edge_list_mutants_are_read_exactly_or_refused() {
    let c = fuzz_edges(500, 3, true);
    println!("{c:?}");
    assert!(c.accepted > 50 && c.rejected > 50, "{c:?}");
}
