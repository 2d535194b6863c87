use super::*;

#[test]
fn names_are_unique() {
    for (i, m) in CATALOG.iter().enumerate() {
        assert!(
            CATALOG[i + 1..].iter().all(|o| o.name != m.name),
            "{} twice",
            m.name
        );
    }
    for (i, b) in BUDGETS.iter().enumerate() {
        assert!(BUDGETS[i + 1..].iter().all(|o| o.name != b.name));
    }
}

#[test]
fn every_budget_names_a_catalog_metric_judged_its_way() {
    for b in BUDGETS {
        let Some(name) = b.bound.metric() else {
            continue;
        };
        let m = get(name).unwrap_or_else(|| panic!("{}: {name} not in the catalog", b.name));
        let want = match b.bound {
            Bound::Own(_) | Bound::OwnMin(_) => Judged::OwnCost,
            _ => Judged::AgainstBaseline,
        };
        assert_eq!(m.judged, want, "{}", b.name);
    }
}

#[test]
fn every_test_type_has_one_headline_that_is_compared() {
    for t in TestType::ALL {
        let h: Vec<_> = CATALOG
            .iter()
            .filter(|m| m.headline_of == Some(t))
            .collect();
        assert_eq!(h.len(), 1, "{t:?}");
        assert_eq!(h[0].judged, Judged::AgainstBaseline);
        assert_eq!(headline(t).name, h[0].name);
    }
}

#[test]
fn judged_metrics_are_shown() {
    for m in CATALOG.iter().filter(|m| m.judged != Judged::Recorded) {
        assert!(m.shown, "{}", m.name);
    }
}
