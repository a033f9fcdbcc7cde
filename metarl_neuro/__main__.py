import sys

from metarl_neuro.simulate import main

sys.exit(main())
