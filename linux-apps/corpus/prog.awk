{ sum += $1; if ($1 > max) max = $1; n++ }
END { printf "n=%d sum=%d max=%d mean=%.3f\n", n, sum, max, sum / n }
