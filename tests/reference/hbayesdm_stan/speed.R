# rstan's side of benchmarks/bayes_speed.py: hBayesDM 1.1.1's ts_par4.stan (or another model of stan/) on a file in
# the hBayesDM example's layout, with hBayesDM's sampler settings; writes its wall time and effective sample sizes.
#   Rscript tests/reference/hbayesdm_stan/speed.R DATA MODEL CHAINS ITER WARMUP CORES SEED OUT_CSV
# (from the repository root). The compile is done before the clock starts.
suppressMessages(library(rstan))
rstan_options(boost_lib = "/usr/include")  # Debian's r-cran-bh keeps Boost there
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 8)
data_file <- args[1]
m <- args[2]
chains <- as.integer(args[3]); iter <- as.integer(args[4]); warmup <- as.integer(args[5])
cores <- as.integer(args[6]); seed <- as.integer(args[7]); out <- args[8]
here <- "tests/reference/hbayesdm_stan"
source(file.path(here, "hbayesdm_data.R"))  # reads data_file
sm <- stan_model(stanc_ret = stanc(file.path(here, "stan", paste0(m, ".stan")), isystem = file.path(here, "stan")))
t0 <- Sys.time()
fit <- sampling(sm, data = data, chains = chains, iter = iter, warmup = warmup, thin = 1, cores = cores, seed = seed,
                control = list(adapt_delta = 0.95, stepsize = 1, max_treedepth = 10), refresh = 0)
wall <- as.numeric(difftime(Sys.time(), t0, units = "secs"))
group <- c(paste0("mu_", subject_pars[[m]]), "sigma")
pars <- c(group, subject_pars[[m]])
mon <- as.data.frame(monitor(extract(fit, pars = pars, permuted = FALSE, inc_warmup = FALSE), warmup = 0, print = FALSE))
is_group <- sub("\\[.*", "", rownames(mon)) %in% group
sp <- get_sampler_params(fit, inc_warmup = TRUE)
et <- get_elapsed_time(fit)
write.csv(data.frame(backend = "rstan", model = m, subjects = N, trials = sum(Tsubj), chains = chains,
                     draws = iter - warmup, warmup = warmup, cores = cores, wall_s = wall,
                     warmup_s = sum(et[, 1]), sample_s = sum(et[, 2]),
                     leapfrog = sum(sapply(sp, function(x) sum(x[, "n_leapfrog__"]))),
                     divergent = sum(sapply(sp, function(x) sum(x[(warmup + 1):iter, "divergent__"]))),
                     min_ess_bulk_group = min(mon[is_group, "Bulk_ESS"]), min_ess_bulk_all = min(mon[, "Bulk_ESS"]),
                     min_ess_tail_all = min(mon[, "Tail_ESS"]), max_rhat = max(mon[, "Rhat"])),
          out, row.names = FALSE)
