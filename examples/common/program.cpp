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

}  // namespace

int program_main(int argc, char** argv, const Program& program,
                 const std::function<void(Experiment&)>& sweep) {
#ifdef RESILINET_WITH_MPI
  // Under mpirun the plan's trainings are dealt to groups of --ranks-per-model ranks, each
  // group training its models data-parallel (fit()'s collective); rank 0 writes the results,
  // each group's first rank its models and checkpoints and prints its progress.
  resilinet::MpiSession mpi(argc, argv);
#endif
  CLI::App app{program.name + ": " + program.description};
  Args args;
  add_flags(app, args, program.kind, program.failout_rates);
  if (const int code = examples::parse_command_line(app, argc, argv); code >= 0) return code;
  apply_profile(args, program.kind, app);
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
