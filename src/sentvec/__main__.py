from sentvec.cli import main

main()
