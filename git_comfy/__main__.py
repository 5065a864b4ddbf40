import sys

from git_comfy.cli import main

sys.exit(main())
