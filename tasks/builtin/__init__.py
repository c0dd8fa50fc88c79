"""Built-in tasks: offline ones from real installed text, and hub YAML configs."""
