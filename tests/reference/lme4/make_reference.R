# Reference values for tests/analysis/test_mixed.py: Daw et al. 2011's mixed-effects stay regression, fitted by
# lme4 on the hBayesDM two-step example, with the stay design built here in R from the raw file (independently
# of metarl_neuro's loader and stay columns).
#   Rscript tests/reference/lme4/make_reference.R   (run from the repository root)
suppressMessages(library(lme4))
raw <- read.delim("tests/reference/hbayesdm/ts_exampleData.txt")
raw <- raw[order(raw$subjID, raw$trial), ]
# hBayesDM: level1_choice 1/2; level2_choice 1-2 in the state commonly reached from choice 1, 3-4 in the other
common <- (raw$level1_choice == 1) == (raw$level2_choice <= 2)
prev <- function(x) c(NA, head(x, -1))
# a trial's previous trial is the row before it, of the same subject, numbered one less (a gap is a dropped trial:
# the trial after it has no previous trial, as in Daw et al. 2011)
has_prev <- raw$subjID == prev(raw$subjID) & raw$trial == prev(raw$trial) + 1
d <- data.frame(subject = factor(raw$subjID),
                stay = as.integer(raw$level1_choice == prev(raw$level1_choice)),
                reward = ifelse(prev(raw$reward) > 0, 1, -1),
                transition = ifelse(prev(common), 1, -1))[which(has_prev), ]
d$rt <- d$reward * d$transition
out <- NULL
for (corr in c(TRUE, FALSE)) {
  f <- if (corr) stay ~ reward * transition + (1 + reward * transition | subject) else
    stay ~ reward * transition + (1 + reward + transition + rt || subject)
  m <- glmer(f, data = d, family = binomial)
  cf <- summary(m)$coefficients
  vc <- as.data.frame(VarCorr(m))
  sds <- vc$sdcor[is.na(vc$var2)]
  out <- rbind(out, data.frame(correlated = corr, term = c("intercept", "reward", "transition", "reward:transition"),
                               coef = cf[, 1], se = cf[, 2], random_sd = sds, loglik = as.numeric(logLik(m)),
                               n_trials = nrow(d)))
}
write.csv(out, "tests/reference/lme4/hbayesdm_stay_glmer.csv", row.names = FALSE)
cat(R.version.string, "; lme4", as.character(packageVersion("lme4")), "\n")
