// Run under `mpirun -np N`: data-parallel fit() over MPI equals fit() in one process. Every
// rank trains the paper's health network (ResiliNet, failout 0.9) on real mHealth data for
// three epochs with the same seed; rank 0 also trains it alone. Checked for per-batch and
// per-example failout: (1) every rank ends with bit-identical weights and (2) they match the
// single-process weights within float tolerance (the only difference is the order in which
// the gradient sums add; failout drawn from each rank's own rows instead moves them by ~1e-2).
// Exit status 0 when both hold.
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include <resilinet/dist/mpi.hpp>
#include <resilinet/resilinet.hpp>

using namespace resilinet;

namespace {

std::vector<float> flat(PartitionedNetwork<float>& net) {
  std::vector<float> v;
  for (Parameter<float>* p : net.parameters()) v.insert(v.end(), p->value().begin(), p->value().end());
  return v;
}

std::unique_ptr<PartitionedNetwork<float>> train(const Dataset<float>& train_set, const Dataset<float>& val,
                                                 FailoutGranularity granularity, bool adam, Collective* group) {
  HealthMlpOptions o;
  o.variant = Variant::resilinet;
  o.hidden = 64;
  o.granularity = granularity;
  Rng rng(11);
  auto net = build_health_mlp<float>(o, rng);
  std::unique_ptr<Optimizer<float>> opt;
  if (adam)
    opt = std::make_unique<Adam<float>>(net->parameters());
  else
    opt = std::make_unique<Sgd<float>>(net->parameters(), SgdOptions{0.05, 0.9});
  FitOptions fo;
  fo.epochs = 3;
  fo.batch_size = 257;  // uneven shares, and a last batch of its own size
  fo.seed = 5;
  fo.log = nullptr;
  fo.collective = group;
  fit(*net, *opt, train_set, &val, fo);
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  MpiSession mpi(argc, argv);
  if (!mpi.active()) {
    std::fprintf(stderr, "mpi_fit_check: start it with mpirun -np N (N >= 2)\n");
    return 2;
  }
  MpiCollective group;
  const char* dir = std::getenv("RESILINET_DATA_DIR");
  if (!dir) {
    std::fprintf(stderr, "mpi_fit_check: RESILINET_DATA_DIR is not set (needs mhealth-window-means)\n");
    return 1;
  }
  set_num_threads(1);
  const auto all = load_mhealth<float>(std::string(dir) + "/mhealth-window-means");
  Rng split_rng(3);
  auto parts = split(all, {0.5, 0.1, 0.4}, split_rng);
  bool ok = group.size() >= 2;
  // SGD carries a rounding difference in a gradient into the weights unchanged; Adam divides
  // every update by the gradient's running RMS, so a parameter whose gradients are ~0 (a skip
  // transform used only by the rows where the edge failed) turns rounding noise into steps of
  // the full learning rate: its tolerance is that of a few such steps (lr = 0.001).
  for (const bool adam : {false, true}) {
    const double tolerance = adam ? 0.05 : 1e-5;
    for (const auto granularity : {FailoutGranularity::per_batch, FailoutGranularity::per_example}) {
      const char* name = granularity == FailoutGranularity::per_batch ? "per-batch" : "per-example";
      auto net = train(parts[0], parts[1], granularity, adam, &group);
      std::vector<float> mine = flat(*net), lead = mine;
      group.broadcast(lead.data(), lead.size());
      double differs_from_lead = 0;
      for (std::size_t i = 0; i < mine.size(); ++i) differs_from_lead += mine[i] != lead[i];
      group.sum(&differs_from_lead, 1);
      if (group.rank() != 0) continue;
      auto alone = train(parts[0], parts[1], granularity, adam, nullptr);
      const std::vector<float> single = flat(*alone);
      double max_diff = 0, max_abs = 0;
      for (std::size_t i = 0; i < mine.size(); ++i) {
        max_diff = std::max(max_diff, double(std::fabs(mine[i] - single[i])));
        max_abs = std::max(max_abs, double(std::fabs(single[i])));
      }
      const double acc_n = evaluate(*net, parts[2]), acc_1 = evaluate(*alone, parts[2]);
      std::printf("%s, %s failout, %d ranks: identical on every rank: %s; max |w_N - w_1| = %.3g "
                  "(largest |w| %.3g, tolerance %.0e); test accuracy %.4f (one process %.4f)\n",
                  adam ? "Adam" : "SGD", name, group.size(), differs_from_lead == 0 ? "yes" : "NO", max_diff,
                  max_abs, tolerance, acc_n, acc_1);
      ok = ok && differs_from_lead == 0 && max_diff <= tolerance && std::fabs(acc_n - acc_1) <= 0.01;
    }
  }
  double all_ok = ok ? 0 : 1;
  group.sum(&all_ok, 1);
  if (group.rank() == 0) std::printf("%s\n", all_ok == 0 ? "mpi_fit_check: passed" : "mpi_fit_check: FAILED");
  return all_ok == 0 ? 0 : 1;
}
