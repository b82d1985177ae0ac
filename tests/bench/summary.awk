# summary.awk — the tables of run.sh from RESULT lines (bench-results.txt):
# per measurement and system the median, min and max of the value, the
# median peak RSS and the ratio of the system's median to goheap's.
#
#   awk -v systems="goheap bdwgc go" [-v format=md] -f summary.awk bench-results.txt
#
# format=md prints Markdown tables (for docs/performance.md) instead of
# aligned text. Units: s, ms, ns/op and n are lower-is-better (n is a count,
# shown for information); x, MiB/s and Mop/s higher-is-better. RESULT lines
# derived from gctrace carry maxrss_kb=0 and show "-" for RSS.
function median(a, n,    i, j, t) {
    for (i = 2; i <= n; i++)        # insertion sort: n is a handful of runs
        for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
            t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
        }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
/^RESULT / {
    delete f
    for (i = 2; i <= NF; i++) {
        eq = index($i, "=")
        f[substr($i, 1, eq - 1)] = substr($i, eq + 1)
    }
    name = f["name"]; sys = f["system"]
    if (!(name in unit)) { order[++nnames] = name; unit[name] = f["unit"] }
    k = ++count[name, sys]
    val[name, sys, k] = f["value"] + 0
    rss[name, sys, k] = f["maxrss_kb"] + 0
}
END {
    ns = split(systems, S, " ")
    md = format == "md"
    for (i = 1; i <= nnames; i++) {
        name = order[i]; u = unit[name]
        better = (u == "x" || u ~ /\/s$/) ? "higher is better" : u == "n" ? "a count" : "lower is better"
        fmt = (u == "s" || u == "ms") ? "%.3f" : u == "x" ? "%.2f" : "%.1f"
        if (md) {
            printf "\n**%s** [%s, %s]\n\n", name, u, better
            printf "| system | median | min | max | peak RSS MiB | x/goheap |\n"
            printf "|---|--:|--:|--:|--:|--:|\n"
        } else {
            printf "\n== %s  [%s, %s]\n", name, u, better
            printf "%-12s %10s %10s %10s %12s %12s\n", "system", "median", "min", "max", "maxrss_MiB", "x/goheap"
        }
        base = ""
        if (count[name, "goheap"] > 0) {
            n = count[name, "goheap"]
            for (k = 1; k <= n; k++) v[k] = val[name, "goheap", k]
            base = median(v, n)
        }
        for (j = 1; j <= ns; j++) {
            s = S[j]; n = count[name, s]
            if (n == 0) continue
            for (k = 1; k <= n; k++) { v[k] = val[name, s, k]; m[k] = rss[name, s, k] }
            med = median(v, n)
            r = median(m, n)
            rs = r > 0 ? sprintf("%.1f", r / 1024) : "-"
            ratio = (base != "" && base > 0) ? sprintf("%.2f", med / base) : "-"
            if (md)
                printf "| %s | " fmt " | " fmt " | " fmt " | %s | %s |\n", s, med, v[1], v[n], rs, ratio
            else
                printf "%-12s %10s %10s %10s %12s %12s\n", s, sprintf(fmt, med), sprintf(fmt, v[1]),
                    sprintf(fmt, v[n]), rs, ratio
        }
    }
}
