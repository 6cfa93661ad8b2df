"""`coopol demo`: the example parties of `instances/` running side by side on 127.0.0.1, allied and seeded.

- `seeds.py`: the seed files (`instances/*/seed.toml`) read and checked;
- `instances.py`: one example instance: folder, URL, database, and its app in the demo process;
- `seed.py`: seeding an instance through the domain services (members, ideas, debates, moderation);
  the extension point for new kinds of seed data (`SEEDERS`);
- `processes.py`: the servers and workers, real child processes, and how they are stopped;
- `progress.py`: the progress bar; `runner.py`: the steps in order; `cli.py`: the command.
"""

from coopol.demo.cli import demo
from coopol.demo.instances import instance_database_url
from coopol.demo.runner import READY_LINE
from coopol.demo.seed import DEMO_PASSWORD
from coopol.demo.seeds import DemoError, SeedError, load_seed, load_seeds

__all__ = ["DEMO_PASSWORD", "READY_LINE", "DemoError", "SeedError", "demo", "instance_database_url", "load_seed",
           "load_seeds"]
