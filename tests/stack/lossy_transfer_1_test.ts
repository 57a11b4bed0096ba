import { registerSeeds } from "../_harness/lossy.ts";

registerSeeds(25, 50);
