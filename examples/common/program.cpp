// program_main(): flags, MPI ranks and errors around Experiment::run() (program.hpp).
#include "experiment.hpp"

namespace examples {

namespace {

#ifdef RESILINET_WITH_MPI
/// The processes of an mpirun job: all of them, and the group of --ranks-per-model ranks
/// this one trains its models with (none when each rank trains alone).
struct MpiRanks {
  /// Every process (MPI_COMM_WORLD).
  std::unique_ptr<resilinet::MpiCollective> world;
  /// This process's training group, when it has more than one rank.
  std::unique_ptr<resilinet::MpiCollective> group;
  /// The group's communicator (freed with the object).
  MPI_Comm comm = MPI_COMM_NULL;
  ~MpiRanks() {
    group.reset();
    if (comm != MPI_COMM_NULL) MPI_Comm_free(&comm);
  }
};
#endif

/// Parses the command line into `args` and applies the profile; with --load, the settings
/// the command line does not give come from the models folder's run file (the flags the
/// training recorded). Returns the exit code when the program should stop (--help, a bad
/// flag), else -1.
int parse_args(int argc, char** argv, const Program& program, Args& args, bool adopt_run_file = true) {
  CLI::App app{program.name + ": " + program.description};
  add_flags(app, args, program.kind, program.failout_rates);
  if (const int code = examples::parse_command_line(app, argc, argv); code >= 0) return code;
  const std::string run_file = args.models + "/" + program.name + ".run";
  const std::vector<std::string> saved =
      adopt_run_file && args.load ? run_file_flags(run_file) : std::vector<std::string>{};
  if (saved.empty()) {
    apply_profile(args, program.kind, app);
    return -1;
  }
  std::vector<std::string> words{argv[0]};
  for (std::size_t i = 0; i < saved.size(); ++i) {
    const bool has_value = i + 1 < saved.size() && saved[i + 1].rfind("--", 0) != 0;
    if (app.get_option_no_throw(saved[i]) != nullptr && app.count(saved[i]) == 0) {
      words.push_back(saved[i]);
      if (has_value) words.push_back(saved[i + 1]);
    }
    i += has_value ? 1 : 0;
  }
  words.insert(words.end(), argv + 1, argv + argc);
  std::vector<char*> merged;
  for (std::string& w : words) merged.push_back(w.data());
  std::printf("--load: the settings not given here are those recorded in '%s'\n", run_file.c_str());
  args = Args{};
  return parse_args(int(merged.size()), merged.data(), program, args, false);
}

}  // namespace

int program_main(int argc, char** argv, const Program& program,
                 const std::function<void(Experiment&)>& sweep) {
#ifdef RESILINET_WITH_MPI
  // Under mpirun the plan's trainings are dealt to groups of --ranks-per-model ranks, each
  // group training its models data-parallel (fit()'s collective); rank 0 writes the results,
  // each group's first rank its models and checkpoints and prints its progress.
  resilinet::MpiSession mpi(argc, argv);
#endif
  Args args;
  if (const int code = parse_args(argc, argv, program, args); code >= 0) return code;
  resilinet::Collective *world = nullptr, *group = nullptr;
#ifdef RESILINET_WITH_MPI
  MpiRanks ranks;
  if (mpi.active()) {
    ranks.world = std::make_unique<resilinet::MpiCollective>();
    const int rank = ranks.world->rank(), size = ranks.world->size(), k = args.ranks_per_model;
    if (size % k != 0) {
      if (rank == 0)
        std::fprintf(stderr, "%s: --ranks-per-model %d does not divide the %d processes of this MPI run\n",
                     program.name.c_str(), k, size);
      return 1;
    }
    MPI_Comm_split(MPI_COMM_WORLD, rank / k, rank, &ranks.comm);
    if (k > 1) ranks.group = std::make_unique<resilinet::MpiCollective>(ranks.comm);
    if (rank % k != 0 && !std::freopen("/dev/null", "w", stdout)) return 1;
    world = ranks.world.get();
    group = ranks.group.get();
  }
#endif
  try {
    resilinet::require(args.ranks_per_model == 1 || world, "--ranks-per-model ", args.ranks_per_model,
                       " needs an MPI run (mpirun -np N, N a multiple of it)");
    Experiment ex(program, args, world, group);
    ex.run(sweep);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: %s\n", program.name.c_str(), e.what());
#ifdef RESILINET_WITH_MPI
    // The other processes would wait for this one's results forever.
    if (world && world->size() > 1) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
    return 1;
  }
}

}  // namespace examples
