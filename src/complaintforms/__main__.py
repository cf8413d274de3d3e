from complaintforms.cli import main

main()
