"""RL post-training of the online accompanist: rollouts, PPO, the adversarial discriminator."""
