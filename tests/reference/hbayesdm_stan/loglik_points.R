# Stan's own per-subject log-likelihood at a few of its draws, for hBayesDM's ts_par4 / ts_par6 / ts_par7 on the
# hBayesDM example: the check that metarl_neuro's likelihood is hBayesDM's, point by point.
#   Rscript tests/reference/hbayesdm_stan/loglik_points.R [OUT.csv]   (from the repository root)
# Each model runs 1 chain of 40 iterations (20 warm-up; the draws only need to be spread, not converged) and the
# last 5 draws are written: per subject (i-th of the sorted subjIDs) its parameters and Stan's log_lik. ts_par4's
# generated quantities apply the first-stage update twice (see README.md), so ts_par4 is run from the file with
# that second copy removed, whose log_lik is the model block's likelihood; "ts_par4_as_published" is the file as
# hBayesDM ships it.
suppressMessages(library(rstan))
rstan_options(boost_lib = "/usr/include")  # Debian's r-cran-bh keeps Boost there
args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1) args[1] else "tests/reference/hbayesdm_stan/loglik_points.csv"
here <- "tests/reference/hbayesdm_stan"
source(file.path(here, "hbayesdm_data.R"))  # data, subjs, N, subject_pars, ts_par4_update
stan_dir <- file.path(tempdir(), "stan")
dir.create(file.path(stan_dir, "pre"), showWarnings = FALSE, recursive = TRUE)
file.copy(file.path(here, "stan", "pre", "license.stan"), file.path(stan_dir, "pre"), overwrite = TRUE)
src <- readLines(file.path(here, "stan", "ts_par4.stan"))
upd <- grep(ts_par4_update, src)
stopifnot(length(upd) == 3)
writeLines(src[-upd[3]], file.path(stan_dir, "ts_par4.stan"))
file.copy(file.path(here, "stan", "ts_par4.stan"), file.path(stan_dir, "ts_par4_as_published.stan"), overwrite = TRUE)
for (m in c("ts_par6", "ts_par7")) file.copy(file.path(here, "stan", paste0(m, ".stan")), stan_dir, overwrite = TRUE)
cols <- unique(unlist(subject_pars))
rows <- NULL
for (m in c("ts_par4", "ts_par4_as_published", "ts_par6", "ts_par7")) {
  sm <- stan_model(stanc_ret = stanc(file.path(stan_dir, paste0(m, ".stan")), isystem = stan_dir))
  fit <- sampling(sm, data = data, chains = 1, iter = 40, warmup = 20, seed = 7, refresh = 0,
                  control = list(adapt_delta = 0.95, max_treedepth = 10))
  pars <- subject_pars[[sub("_as_published", "", m)]]
  ex <- extract(fit, pars = c(pars, "log_lik"))
  for (d in 16:20) {
    for (i in seq_len(N)) {
      row <- data.frame(model = m, draw = d, subject = subjs[i], log_lik = ex$log_lik[d, i])
      for (p in cols) row[[p]] <- if (p %in% pars) ex[[p]][d, i] else NA
      rows <- rbind(rows, row)
    }
  }
}
write.csv(rows, out_file, row.names = FALSE)
cat("wrote", nrow(rows), "rows to", out_file, "\n")
