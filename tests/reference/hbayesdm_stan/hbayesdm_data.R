# The hBayesDM two-step example as hBayesDM hands it to Stan (hbayesdm/preprocess_funcs.py, ts_preprocess_func):
# subjects in sorted order, each subject's rows in file order, padded with level1_choice = level2_choice = 1 and
# reward = 0 past Tsubj; trans_prob 0.7. Sourced by make_reference.R and loglik_points.R (from the repository root).
# (a script may set data_file first to prepare another file in the example's layout: benchmarks/bayes_speed.py)
if (!exists("data_file")) data_file <- "tests/reference/hbayesdm/ts_exampleData.txt"
raw <- read.delim(data_file)
subjs <- sort(unique(raw$subjID))
N <- length(subjs)
Tsubj <- sapply(subjs, function(s) sum(raw$subjID == s))
Tmax <- max(Tsubj)
l1 <- matrix(1L, N, Tmax); l2 <- matrix(1L, N, Tmax); rw <- matrix(0L, N, Tmax)
for (i in seq_len(N)) {
  d <- raw[raw$subjID == subjs[i], ]
  l1[i, seq_len(Tsubj[i])] <- d$level1_choice
  l2[i, seq_len(Tsubj[i])] <- d$level2_choice
  rw[i, seq_len(Tsubj[i])] <- d$reward
}
data <- list(N = N, T = Tmax, Tsubj = as.integer(Tsubj), level1_choice = l1, level2_choice = l2, reward = rw,
             trans_prob = 0.7)
subject_pars <- list(ts_par4 = c("a", "beta", "pi", "w"),
                     ts_par6 = c("a1", "beta1", "a2", "beta2", "pi", "w"),
                     ts_par7 = c("a1", "beta1", "a2", "beta2", "pi", "w", "lambda"))
# the first-stage update that ts_par4's generated quantities apply a second time (its 3rd occurrence in the file)
ts_par4_update <- "v_mf\\[level1_choice\\[i,t\\]\\] \\+= a\\[i\\]\\*\\(v_mf\\[2\\+ level2_choice"
