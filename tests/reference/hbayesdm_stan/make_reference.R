# Reference posteriors for metarl_neuro.analysis.fit_bayesian: hBayesDM 1.1.1's own ts_par4 / ts_par6 / ts_par7
# .stan files (copied unchanged into stan/), run by rstan on the hBayesDM two-step example with hBayesDM's
# sampler settings (4 chains, 4,000 iterations, 1,000 warm-up, adapt_delta 0.95, stepsize 1, max_treedepth 10).
#   Rscript tests/reference/hbayesdm_stan/make_reference.R [MODEL,MODEL...] [CORES] [ITER WARMUP OUT_DIR]
# (from the repository root; ITER, WARMUP and OUT_DIR only to try the script out quickly)
# Writes, per model, <model>_summary.csv (every group and subject parameter: mean, MCSE, SD, 2.5% / 97.5%
# quantiles and their MCSEs, bulk / tail ESS, R-hat) and a row of loo.csv and timing.csv.
suppressMessages({library(rstan); library(loo)})
rstan_options(boost_lib = "/usr/include")  # Debian's r-cran-bh keeps Boost there
args <- commandArgs(trailingOnly = TRUE)
models <- if (length(args) >= 1) strsplit(args[1], ",")[[1]] else c("ts_par4", "ts_par6", "ts_par7")
cores <- if (length(args) >= 2) as.integer(args[2]) else 2L
iter <- if (length(args) >= 4) as.integer(args[3]) else 4000L
warmup <- if (length(args) >= 4) as.integer(args[4]) else 1000L
here <- "tests/reference/hbayesdm_stan"
out_dir <- if (length(args) >= 5) args[5] else here

source(file.path(here, "hbayesdm_data.R"))  # data, subjs, N, subject_pars, ts_par4_update
# rows of models not run now are kept
keep <- function(file) {
  if (!file.exists(file)) return(NULL)
  old <- read.csv(file)
  old[!old$model %in% models, ]
}
loo_rows <- keep(file.path(out_dir, "loo.csv"))
time_rows <- keep(file.path(out_dir, "timing.csv"))
for (m in models) {
  sm <- stan_model(stanc_ret = stanc(file.path(here, "stan", paste0(m, ".stan")), isystem = file.path(here, "stan")))
  t0 <- Sys.time()
  fit <- sampling(sm, data = data, chains = 4, iter = iter, warmup = warmup, thin = 1, cores = cores, seed = 20261205,
                  control = list(adapt_delta = 0.95, stepsize = 1, max_treedepth = 10), refresh = 0)
  wall <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
  pars <- c(paste0("mu_", subject_pars[[m]]), "sigma", subject_pars[[m]])
  mon <- as.data.frame(monitor(extract(fit, pars = pars, permuted = FALSE, inc_warmup = FALSE), warmup = 0,
                               print = FALSE))
  out <- data.frame(parameter = rownames(mon), mean = mon[, "mean"], mcse = mon[, "se_mean"], sd = mon[, "sd"],
                    q2.5 = mon[, "2.5%"], q97.5 = mon[, "97.5%"], mcse_q2.5 = mon[, "MCSE_Q2.5"],
                    mcse_q97.5 = mon[, "MCSE_Q97.5"], ess_bulk = mon[, "Bulk_ESS"],
                    ess_tail = mon[, "Tail_ESS"], rhat = mon[, "Rhat"])
  write.csv(out, file.path(out_dir, paste0(m, "_summary.csv")), row.names = FALSE)
  # LOOIC over subjects, as hBayesDM reports it (printFit), from the generated quantities' log_lik
  ll <- extract_log_lik(fit, "log_lik", merge_chains = FALSE)
  lo <- loo(ll, r_eff = relative_eff(exp(ll)))
  est <- lo$estimates
  loo_rows <- rbind(loo_rows, data.frame(model = m, log_lik = "generated_quantities", looic = est["looic", 1],
                                         looic_se = est["looic", 2], p_loo = est["p_loo", 1],
                                         max_pareto_k = max(lo$diagnostics$pareto_k)))
  if (m == "ts_par4") {
    # ts_par4's generated quantities apply the first-stage update Q1(c1) += a*(Q2 - Q1) twice per trial (the
    # model block once), so their log_lik is not the likelihood the model samples. The same file with the second
    # copy of that line removed has the same model block and draws as many random numbers, so with the same seed
    # it gives the same draws (checked below), and its log_lik is the model's. (rstan 2.21's gqs() refuses the
    # draws of a model with transformed parameters.)
    src <- readLines(file.path(here, "stan", "ts_par4.stan"))
    upd <- grep(ts_par4_update, src)
    stopifnot(length(upd) == 3)
    fixed_dir <- file.path(tempdir(), "stan")
    dir.create(file.path(fixed_dir, "pre"), showWarnings = FALSE, recursive = TRUE)
    file.copy(file.path(here, "stan", "pre", "license.stan"), file.path(fixed_dir, "pre"), overwrite = TRUE)
    writeLines(src[-upd[3]], file.path(fixed_dir, "ts_par4.stan"))
    sm2 <- stan_model(stanc_ret = stanc(file.path(fixed_dir, "ts_par4.stan"), isystem = fixed_dir))
    fit2 <- sampling(sm2, data = data, chains = 4, iter = iter, warmup = warmup, thin = 1, cores = cores,
                     seed = 20261205, control = list(adapt_delta = 0.95, stepsize = 1, max_treedepth = 10),
                     refresh = 0)
    same <- max(abs(as.matrix(fit2, pars = pars) - as.matrix(fit, pars = pars)))
    cat("ts_par4 with the model block's log_lik: largest difference of its draws from ts_par4's:", same, "\n")
    ll2 <- extract_log_lik(fit2, "log_lik", merge_chains = FALSE)
    lo2 <- loo(ll2, r_eff = relative_eff(exp(ll2)))
    est <- lo2$estimates
    loo_rows <- rbind(loo_rows, data.frame(model = m, log_lik = "model_block", looic = est["looic", 1],
                                           looic_se = est["looic", 2], p_loo = est["p_loo", 1],
                                           max_pareto_k = max(lo2$diagnostics$pareto_k)))
  }
  sp <- get_sampler_params(fit, inc_warmup = FALSE)
  el <- get_elapsed_time(fit)
  grp <- mon[paste0("mu_", subject_pars[[m]]), ]
  time_rows <- rbind(time_rows, data.frame(
    model = m, cores = cores, wall_s = wall, warmup_s = sum(el[, "warmup"]), sample_s = sum(el[, "sample"]),
    divergent = sum(sapply(sp, function(x) sum(x[, "divergent__"]))),
    leapfrog_steps = sum(sapply(sp, function(x) sum(x[, "n_leapfrog__"]))),
    min_ess_bulk_group = min(grp[, "Bulk_ESS"]), min_ess_bulk_all = min(mon[, "Bulk_ESS"]),
    max_rhat = max(mon[, "Rhat"])))
  write.csv(loo_rows, file.path(out_dir, "loo.csv"), row.names = FALSE)
  write.csv(time_rows, file.path(out_dir, "timing.csv"), row.names = FALSE)
  cat(m, "done in", round(wall), "s\n")
}
cat(R.version.string, "; rstan", as.character(packageVersion("rstan")), "; loo", as.character(packageVersion("loo")),
    "\n")
